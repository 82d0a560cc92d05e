//! HTTP answers as the API server writes them: objects, `Status` failures, and query strings.

use super::*;

pub(super) fn respond(code: StatusCode, body: &Value) -> Response<Body> {
    respond_bytes(code, serde_json::to_vec(body).unwrap_or_default())
}

/// A JSON response of `bytes`.
pub(super) fn respond_bytes(code: StatusCode, bytes: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(bytes)).boxed_unsync());
    *response.status_mut() = code;
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}

/// A failed request as the API server reports it: the `Status` it answers with. Handlers
/// return it, so they can be tested without HTTP.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) code: StatusCode,
    /// `NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, ...
    pub(crate) reason: String,
    pub(crate) message: String,
    /// The `Status`'s `details`, when the failure names an object.
    pub(crate) details: Option<Value>,
    /// Seconds a client should wait before it retries (`Retry-After`).
    pub(crate) retry_after: Option<u64>,
}

impl ApiError {
    /// The `Status` body.
    pub(super) fn body(&self) -> Value {
        let mut body = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code.as_u16(),
        });
        if let Some(details) = &self.details {
            body["details"] = details.clone();
        }
        body
    }

    pub(super) fn response(&self) -> Response<Body> {
        let mut response = respond(self.code, &self.body());
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from(seconds));
        }
        response
    }
}

/// A successful answer.
pub(crate) enum Reply {
    /// A JSON body: an object, a list, a `Status` of success.
    Object(StatusCode, Value),
    /// A JSON body serialised already: a list.
    Raw(StatusCode, Vec<u8>),
    /// Plain text: a pod's log.
    Text(String),
    /// A response streamed as it happens: a watch.
    Stream(Response<Body>),
}

impl Reply {
    pub(super) fn response(self) -> Response<Body> {
        match self {
            Reply::Object(code, body) => respond(code, &body),
            Reply::Raw(code, bytes) => respond_bytes(code, bytes),
            Reply::Text(text) => {
                let mut response = Response::new(Full::new(Bytes::from(text)).boxed_unsync());
                response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
                response
            }
            Reply::Stream(response) => response,
        }
    }

    /// The JSON body, for callers that continue from one handler's answer.
    #[cfg(test)]
    pub(super) fn object(&self) -> Option<(StatusCode, Value)> {
        match self {
            Reply::Object(code, body) => Some((*code, body.clone())),
            Reply::Raw(code, bytes) => Some((*code, serde_json::from_slice(bytes).ok()?)),
            _ => None,
        }
    }
}

/// What a handler answers.
pub(crate) type Handled = Result<Reply, ApiError>;

/// An answer as the HTTP response the server sends.
pub(super) fn into_response(handled: Handled) -> Response<Body> {
    match handled {
        Ok(reply) => reply.response(),
        Err(error) => error.response(),
    }
}

/// A JSON success.
pub(super) fn ok(code: StatusCode, body: Value) -> Handled {
    Ok(Reply::Object(code, body))
}

pub(super) fn status(code: StatusCode, reason: &str, message: &str) -> ApiError {
    ApiError { code, reason: reason.to_owned(), message: message.to_owned(), details: None, retry_after: None }
}

pub(super) fn bad_request(message: &str) -> ApiError {
    status(StatusCode::BAD_REQUEST, "BadRequest", message)
}

pub(super) fn failure(code: StatusCode, reason: &str, resource: &ResourceKey, name: &str, message: &str) -> ApiError {
    ApiError {
        details: Some(json!({"name": name, "group": resource.0, "kind": resource.2})),
        ..status(code, reason, message)
    }
}

pub(super) fn missing(t: &Target, name: &str) -> ApiError {
    failure(StatusCode::NOT_FOUND, "NotFound", &t.resource, name, &format!("{} \"{name}\" not found", t.resource.2))
}

pub(super) fn not_found(message: &str) -> ApiError {
    status(StatusCode::NOT_FOUND, "NotFound", message)
}

pub(super) fn invalid(kind: &str, name: &str, message: &str) -> ApiError {
    ApiError {
        details: Some(json!({"name": name, "kind": kind})),
        ..status(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", &format!("{kind} \"{name}\" is invalid: {message}"))
    }
}

pub(super) fn parse_query(query: &str) -> HashMap<String, String> {
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_decode() {
        let q = parse_query("labelSelector=app%3Dweb%2Cenv+in+%28a%29&watch=true");
        assert_eq!(q["labelSelector"], "app=web,env in (a)");
        assert_eq!(q["watch"], "true");
    }
}

/// What a test gave the server that it cannot take: an object to seed, an OpenAPI document to
/// load.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// The object lacks a field it needs (`apiVersion`, `kind`, `metadata.name`, and
    /// `metadata.namespace` for a namespaced resource).
    #[error("the object has no {0}")]
    Missing(&'static str),
    /// No resource of this kind is registered.
    #[error("{api_version} {kind} is not registered")]
    NotRegistered {
        /// The object's `apiVersion`.
        api_version: String,
        /// The object's `kind`.
        kind: String,
    },
    /// The document is not one the server can serve as its OpenAPI.
    #[error("{0}")]
    OpenApi(&'static str),
}
