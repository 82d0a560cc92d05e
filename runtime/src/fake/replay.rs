//! Recorded API-server traffic served back, in order, to a `kube::Client`: a test that the
//! requests a client sends are the recorded ones, and that the recorded responses decode.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::Value;

use super::responses::bad_request;
use super::{Body, ServiceFuture, call_with, parse_query};

/// One recorded exchange, in the format of k8s-openapi's test replays.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Exchange {
    /// Path and query.
    pub request_url: String,
    /// `GET`, `POST`, ...
    pub request_method: String,
    /// The request body; empty when there was none.
    pub request_body: String,
    /// The request's content type, when it had a body.
    pub request_content_type: Option<String>,
    /// The response's status code.
    pub response_status_code: u16,
    /// The response body: a JSON object, or newline-separated watch events.
    pub response_body: String,
}

/// Serves recorded exchanges in order. Each request must match the next exchange:
///
/// - the same method and path;
/// - the same query parameters as a set, where a parameter with an empty value counts as absent
///   and `timeoutSeconds` is not compared (kube-rs bounds every watch with one; it does not change
///   what the server sends before it ends the stream);
/// - bodies equal as JSON, where no body equals `{}` (default options), and the same media type
///   when the recording has a body.
///
/// A request that does not match gets a 400 `Status` naming the difference, and
/// [`finish`](Replay::finish) reports it.
#[derive(Clone)]
pub struct Replay {
    inner: Arc<Mutex<ReplayState>>,
}

struct ReplayState {
    exchanges: Vec<Exchange>,
    next: usize,
    mismatches: Vec<String>,
}

impl Replay {
    /// Serves `exchanges` in order.
    pub fn new(exchanges: Vec<Exchange>) -> Replay {
        Replay { inner: Arc::new(Mutex::new(ReplayState { exchanges, next: 0, mismatches: Vec::new() })) }
    }

    /// Reads a replay file: a JSON array of [`Exchange`]s.
    pub fn from_json(text: &str) -> Result<Replay, serde_json::Error> {
        Ok(Replay::new(serde_json::from_str(text)?))
    }

    /// A `kube::Client` whose requests this replay answers.
    pub fn client(&self) -> kube::Client {
        kube::Client::new(self.clone(), "default")
    }

    /// `Ok` when every exchange was requested, in order, and every request matched.
    pub fn finish(&self) -> Result<(), ReplayMismatch> {
        let state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut problems = state.mismatches.clone();
        for e in state.exchanges.iter().skip(state.next) {
            problems.push(format!("not requested: {} {}", e.request_method, e.request_url));
        }
        if problems.is_empty() { Ok(()) } else { Err(ReplayMismatch(problems)) }
    }

    fn answer(&self, method: &str, uri: &http::Uri, content_type: Option<&str>, body: &[u8]) -> Response<Body> {
        let mut state = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let Some(expected) = state.exchanges.get(state.next).cloned() else {
            let message = format!("unexpected request after the recording ended: {method} {uri}");
            state.mismatches.push(message.clone());
            return bad_request(&message).response();
        };
        if let Err(difference) = matches(&expected, method, uri, content_type, body) {
            let message = format!(
                "{method} {uri} does not match {} {}: {difference}",
                expected.request_method, expected.request_url
            );
            state.mismatches.push(message.clone());
            return bad_request(&message).response();
        }
        state.next += 1;
        let mut response = Response::new(Full::new(Bytes::from(expected.response_body)).boxed_unsync());
        *response.status_mut() = StatusCode::from_u16(expected.response_status_code).unwrap_or(StatusCode::OK);
        response.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        response
    }
}

fn matches(e: &Exchange, method: &str, uri: &http::Uri, content_type: Option<&str>, body: &[u8]) -> Result<(), String> {
    if e.request_method != method {
        return Err(format!("method {method}, recorded {}", e.request_method));
    }
    let (path, query) = e.request_url.split_once('?').unwrap_or((&e.request_url, ""));
    if path != uri.path() {
        return Err(format!("path {}, recorded {path}", uri.path()));
    }
    let params = |q: &str| -> BTreeMap<String, String> {
        parse_query(q).into_iter().filter(|(k, v)| !v.is_empty() && k != "timeoutSeconds").collect()
    };
    let (sent, recorded) = (params(uri.query().unwrap_or("")), params(query));
    if sent != recorded {
        return Err(format!("query {sent:?}, recorded {recorded:?}"));
    }
    let json = |b: &[u8]| -> Result<Value, String> {
        if b.is_empty() {
            Ok(Value::Object(Default::default()))
        } else {
            serde_json::from_slice(b).map_err(|e| e.to_string())
        }
    };
    let sent_body = json(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let recorded_body = json(e.request_body.as_bytes()).map_err(|e| format!("the recorded body is not JSON: {e}"))?;
    if sent_body != recorded_body {
        return Err(format!("body {sent_body}, recorded {recorded_body}"));
    }
    let media = |t: Option<&str>| t.map(|t| t.split(';').next().unwrap_or("").trim().to_owned());
    if !e.request_body.is_empty() && media(content_type) != media(e.request_content_type.as_deref()) {
        return Err(format!("content type {content_type:?}, recorded {:?}", e.request_content_type));
    }
    Ok(())
}

impl tower::Service<Request<kube::client::Body>> for Replay {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ServiceFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<kube::client::Body>) -> Self::Future {
        let replay = self.clone();
        call_with(request, move |parts, body| async move {
            let content_type = parts.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
            replay.answer(parts.method.as_str(), &parts.uri, content_type, &body)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(url: &str, body: &str, content_type: Option<&str>) -> Exchange {
        Exchange {
            request_url: url.into(),
            request_method: "POST".into(),
            request_body: body.into(),
            request_content_type: content_type.map(str::to_owned),
            response_status_code: 200,
            response_body: "{}".into(),
        }
    }

    #[test]
    fn requests_match_recordings_by_meaning_not_bytes() {
        let uri = |s: &str| s.parse::<http::Uri>().unwrap();
        let e =
            exchange("/api/v1/pods?&watch=true&labelSelector=a%3Db", r#"{"a": 1, "b": [2]}"#, Some("application/json"));
        let json = Some("application/json; charset=utf-8");
        let body = br#"{"b":[2],"a":1}"#;
        assert!(
            matches(
                &e,
                "POST",
                &uri("/api/v1/pods?labelSelector=a=b&watch=true&timeoutSeconds=290&resourceVersion="),
                json,
                body
            )
            .is_ok()
        );
        assert!(matches(&e, "PUT", &uri("/api/v1/pods?watch=true&labelSelector=a=b"), json, body).is_err());
        assert!(matches(&e, "POST", &uri("/api/v1/pods?watch=true"), json, body).unwrap_err().contains("query"));
        assert!(
            matches(&e, "POST", &uri("/api/v1/pods?watch=true&labelSelector=a=b"), json, b"{}")
                .unwrap_err()
                .contains("body")
        );
        let merge = Some("application/merge-patch+json");
        assert!(
            matches(&e, "POST", &uri("/api/v1/pods?watch=true&labelSelector=a=b"), merge, body)
                .unwrap_err()
                .contains("content type")
        );
        // No body is the default options, `{}`.
        let delete = Exchange { request_method: "DELETE".into(), ..exchange("/api/v1/pods/p", "", None) };
        assert!(matches(&delete, "DELETE", &uri("/api/v1/pods/p?"), json, b"{}").is_ok());
    }
}

/// How a client's requests differed from a recording: each request that did not match, and
/// each recorded exchange never requested.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", .0.join("\n"))]
pub struct ReplayMismatch(pub Vec<String>);
