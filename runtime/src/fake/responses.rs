//! HTTP answers as the API server writes them: objects, `Status` failures, and query strings.

use super::*;

pub(super) fn respond(code: StatusCode, body: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = Response::new(Full::new(Bytes::from(bytes)).boxed_unsync());
    *response.status_mut() = code;
    response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    response
}

pub(super) fn status(code: StatusCode, reason: &str, message: &str) -> Response<Body> {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16(),
    });
    respond(code, &body)
}

pub(super) fn failure(
    code: StatusCode,
    reason: &str,
    resource: &ResourceKey,
    name: &str,
    message: &str,
) -> Response<Body> {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16(),
        "details": {"name": name, "group": resource.0, "kind": resource.2},
    });
    respond(code, &body)
}

pub(super) fn missing(t: &Target, name: &str) -> Response<Body> {
    failure(StatusCode::NOT_FOUND, "NotFound", &t.resource, name, &format!("{} \"{name}\" not found", t.resource.2))
}

pub(super) fn not_found(message: &str) -> Response<Body> {
    status(StatusCode::NOT_FOUND, "NotFound", message)
}

pub(super) fn invalid(kind: &str, name: &str, message: &str) -> Response<Body> {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("{kind} \"{name}\" is invalid: {message}"), "reason": "Invalid", "code": 422,
        "details": {"name": name, "kind": kind},
    });
    respond(StatusCode::UNPROCESSABLE_ENTITY, &body)
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
