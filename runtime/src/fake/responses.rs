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
    /// Answered as plain text, not a `Status`: the real server's 404 for a path no API serves.
    pub(crate) plain: bool,
}

impl ApiError {
    /// The `Status` body.
    pub(super) fn body(&self) -> Value {
        let mut body = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": self.message, "reason": self.reason, "code": self.code.as_u16(),
        });
        if self.reason.is_empty()
            && let Some(o) = body.as_object_mut()
        {
            o.remove("reason");
        }
        if let Some(details) = &self.details {
            body["details"] = details.clone();
        }
        body
    }

    pub(super) fn response(&self) -> Response<Body> {
        if self.plain {
            let mut response = Reply::Text(self.message.clone()).response();
            *response.status_mut() = self.code;
            return response;
        }
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
                let plain = http::HeaderValue::from_static("text/plain; charset=utf-8");
                response.headers_mut().insert(http::header::CONTENT_TYPE, plain);
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
    ApiError {
        code,
        reason: reason.to_owned(),
        message: message.to_owned(),
        details: None,
        retry_after: None,
        plain: false,
    }
}

/// The real server's answer to a path that no API group serves: not a `Status`, plain text.
pub(super) fn page_not_found() -> ApiError {
    ApiError { plain: true, ..status(StatusCode::NOT_FOUND, "NotFound", "404 page not found\n") }
}

/// A `resourceVersion` that is not a number: the real server fails in its storage layer, a
/// 500 with no reason and Go's parse error.
pub(super) fn malformed_version(rv: &str) -> ApiError {
    let message = format!("resourceVersion: Invalid value: {rv:?}: strconv.ParseUint: parsing {rv:?}: invalid syntax");
    ApiError { reason: String::new(), ..status(StatusCode::INTERNAL_SERVER_ERROR, "", &message) }
}

/// The 406 of a request that accepts none of the media types the server writes.
pub(super) fn not_acceptable() -> ApiError {
    let message = "406: Not Acceptable\n\nAvailable representations: application/json, application/yaml, application/vnd.kubernetes.protobuf";
    ApiError { details: Some(json!({})), ..status(StatusCode::NOT_ACCEPTABLE, "NotAcceptable", message) }
}

pub(super) fn bad_request(message: &str) -> ApiError {
    status(StatusCode::BAD_REQUEST, "BadRequest", message)
}

pub(super) fn failure(code: StatusCode, reason: &str, resource: &ResourceKey, name: &str, message: &str) -> ApiError {
    ApiError { details: Some(details(name, &resource.0, &resource.2)), ..status(code, reason, message) }
}

/// A `Status`'s `details` naming an object: empty fields are left out, as Go's `omitempty`
/// leaves them.
pub(super) fn details(name: &str, group: &str, kind: &str) -> Value {
    let mut details = serde_json::Map::new();
    for (key, value) in [("name", name), ("group", group), ("kind", kind)] {
        if !value.is_empty() {
            details.insert(key.to_owned(), json!(value));
        }
    }
    Value::Object(details)
}

/// One field a 422 names: (field, reason, message), as `field.Error` words it.
pub(super) type Cause = (String, &'static str, String);

/// The 422 of an object whose fields are invalid, worded as the API server words it: the
/// kind qualified by its group, every cause in the message and in `details.causes`.
pub(super) fn invalid_fields(kind: &str, group: &str, name: &str, causes: &[Cause]) -> ApiError {
    let qualified = if group.is_empty() { kind.to_owned() } else { format!("{kind}.{group}") };
    let said: Vec<String> = causes.iter().map(|(field, _, message)| format!("{field}: {message}")).collect();
    let said = match said.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    };
    let mut details = details(name, group, kind);
    details["causes"] = causes
        .iter()
        .map(|(field, reason, message)| json!({"reason": reason, "message": message, "field": field}))
        .collect();
    ApiError {
        details: Some(details),
        ..status(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", &format!("{qualified} \"{name}\" is invalid: {said}"))
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
