//! Requests in: the `tower::Service`, routing a path to a resource, the recorded action and
//! the reactors, then the verb or subresource that answers.

use super::*;

/// Collects a request's body and hands the request to `respond`: the part of `call` the
/// API server and the replay share.
pub(super) fn call_with<F, Fut>(request: Request<kube::client::Body>, respond: F) -> ServiceFuture
where
    F: FnOnce(http::request::Parts, Bytes) -> Fut + Send + 'static,
    Fut: Future<Output = Response<Body>> + Send,
{
    Box::pin(async move {
        let (parts, body) = request.into_parts();
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return Ok(bad_request(&format!("reading the body: {e}")).response()),
        };
        Ok(respond(parts, body).await)
    })
}

impl tower::Service<Request<kube::client::Body>> for ApiServer {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ServiceFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<kube::client::Body>) -> Self::Future {
        let server = self.clone();
        call_with(request, move |parts, body| async move { server.serve_one(parts, body).await })
    }
}

/// A request taken apart.
#[derive(Clone)]
pub(super) struct Target {
    pub(super) resource: ResourceKey,
    /// Where its objects are kept: every version of a resource shares one storage, as the
    /// real server's (conversion between versions is the `None` strategy: `apiVersion` only).
    pub(super) store: ResourceKey,
    pub(super) served: Served,
    pub(super) namespace: Option<String>,
    pub(super) name: Option<String>,
    pub(super) subresource: Option<String>,
    pub(super) query: HashMap<String, String>,
    /// Set for a server-side apply, whose ownership `apply` has worked out already.
    pub(super) applied: bool,
    /// A delete that asked for background or foreground propagation.
    pub(super) background: bool,
    /// A delete's `preconditions` (`uid`, `resourceVersion`), or null.
    pub(super) preconditions: Value,
    /// Who writes: `fieldManager`, else the client's user agent up to its first `/`, as the
    /// real server names managers of writes that do not say.
    pub(super) manager: String,
    /// The client asked for `PartialObjectMetadata` (`Accept: ...;as=PartialObjectMetadata`
    /// or `...List`): objects are answered as their metadata only.
    pub(super) metadata_only: bool,
}

impl Target {
    /// Whether this is a custom resource: served by a CRD, registered as one, or of a group
    /// that is not Kubernetes' own (a type registered with `register` from generated code).
    pub(super) fn is_custom(&self) -> bool {
        self.served.custom || self.served.schema.is_some() || !defaults::builtin_group(&self.resource.0)
    }

    /// The fields a field selector may name, besides `metadata.name` and `metadata.namespace`.
    pub(super) fn selectable(&self) -> Vec<String> {
        let builtin = filter::builtin_fields(&self.resource.0, &self.resource.2).iter().map(|f| (*f).to_owned());
        builtin.chain(self.served.selectable.iter().cloned()).collect()
    }

    /// The JSON pointer of a scale subresource's replicas (`/spec/replicas`).
    pub(super) fn scale_pointer(&self) -> String {
        let path = self.served.options.scale.as_ref().map_or(".spec.replicas", |s| s.spec_replicas_path.as_str());
        path.trim_start_matches('.').split('.').fold(String::new(), |p, s| format!("{p}/{s}"))
    }

    /// Who writes what, for field ownership: the manager, the part of the object this
    /// endpoint writes, and the resource's list semantics.
    pub(super) fn request<'a>(&'a self, api_version: &'a str, now: &'a str, scale: &'a str) -> apply::Request<'a> {
        let scope = match self.subresource.as_deref() {
            None => apply::Scope::Main { status_subresource: self.served.options.status },
            Some("status") => apply::Scope::Status,
            Some("scale") => apply::Scope::Scale(scale),
            Some(_) => apply::Scope::Main { status_subresource: true },
        };
        apply::Request {
            manager: &self.manager,
            force: self.query.get("force").is_some_and(|f| f == "true"),
            scope,
            lists: self.served.lists(),
            api_version,
            now,
        }
    }
}

impl ApiServer {
    /// One request, after the configured latency.
    pub(super) async fn serve_one(&self, parts: http::request::Parts, body: Bytes) -> Response<Body> {
        let latency = self.lock().latency;
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        self.handle(parts, body)
    }

    fn handle(&self, parts: http::request::Parts, body: Bytes) -> Response<Body> {
        if parts.method == Method::GET {
            let accepts = parts.headers.get_all(http::header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect();
            // A document asked for in protobuf only (kubectl's `/openapi/v2`) cannot be given.
            if !acceptable(accepts) && !parts.uri.path().starts_with("/api") {
                return not_acceptable().response();
            }
            let accept = parts.headers.get(http::header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
            if let Some(response) = self.discovery(parts.uri.path(), accept) {
                return response;
            }
            if let Some(response) = self.openapi(parts.uri.path()) {
                return response;
            }
            if parts.uri.path() == "/version" {
                return respond(StatusCode::OK, &version());
            }
        }
        into_response(self.dispatch(&parts, &body))
    }

    /// One request on a resource's endpoints, answered without HTTP: routing, the recorded
    /// action, reactors, then the verb or subresource.
    pub(super) fn dispatch(&self, parts: &http::request::Parts, body: &[u8]) -> Handled {
        let mut target = self.route(&parts.uri)?;
        let agent = parts.headers.get(http::header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("unknown");
        target.manager = match target.query.get("fieldManager") {
            Some(m) if !m.is_empty() => m.clone(),
            _ => agent.split('/').next().unwrap_or("unknown").to_owned(),
        };
        let content_type =
            parts.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        // A body the fake cannot read (protobuf, CBOR) is refused as a server without that
        // encoding refuses it, so a client that can falls back to JSON.
        let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        if matches!(parts.method, Method::POST | Method::PUT)
            && !body.is_empty()
            && !matches!(media.as_str(), "" | "application/json" | "application/yaml" | "*/*")
        {
            return Err(ApiError {
                details: Some(json!({})),
                ..status(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType", "415: Unsupported Media Type")
            });
        }
        let accepts = parts.headers.get_all(http::header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).collect();
        if !acceptable(accepts) {
            return Err(not_acceptable());
        }
        target.metadata_only = parts
            .headers
            .get_all(http::header::ACCEPT)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|accept| accept.split(';').any(|p| p.trim().starts_with("as=PartialObjectMetadata")));
        let watch = target.query.get("watch").is_some_and(|w| w == "true" || w == "1");
        let verb = match (&parts.method, &target.name) {
            (&Method::GET, None) if watch => Verb::Watch,
            (&Method::GET, None) => Verb::List,
            (&Method::GET, Some(_)) => Verb::Get,
            (&Method::POST, _) => Verb::Create,
            (&Method::PUT, _) => Verb::Update,
            (&Method::PATCH, _) => Verb::Patch,
            (&Method::DELETE, None) => Verb::DeleteCollection,
            (&Method::DELETE, Some(_)) => Verb::Delete,
            (method, _) => {
                return Err(status(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "MethodNotAllowed",
                    &format!("the server does not allow this method on the requested resource ({method})"),
                ));
            }
        };
        let action = Action {
            verb,
            group: target.resource.0.clone(),
            resource: target.resource.2.clone(),
            namespace: target.namespace.clone(),
            name: target.name.clone(),
            subresource: target.subresource.clone(),
        };
        let reactors: Vec<Reactor> = {
            let mut state = self.lock();
            state.actions.push(action.clone());
            state
                .reactors
                .iter()
                .filter(|(v, r, _)| v.matches(verb) && (r == "*" || *r == action.resource))
                .map(|(_, _, f)| Arc::clone(f))
                .collect()
        };
        // Reactors run without the lock, so they may call the server.
        for reactor in reactors {
            match reactor(&action) {
                Reaction::Pass => continue,
                Reaction::Respond(code, body) => {
                    return ok(reactor_code(code, &action)?, body);
                }
                Reaction::Fail { code, reason, retry_after } => {
                    let code = reactor_code(code, &action)?;
                    let message = format!("injected failure: {reason}");
                    return Err(ApiError {
                        retry_after: retry_after.map(u64::from),
                        ..status(code, &reason, &message)
                    });
                }
            }
        }
        if parts.method == Method::DELETE {
            (target.background, target.preconditions) = delete_options(&target, body)?;
        }
        if target.served.create_only {
            return match (&parts.method, &target.name) {
                (&Method::POST, None) => match serde_json::from_slice::<Value>(body) {
                    Ok(mut object @ Value::Object(_)) => {
                        if object["status"].is_null() {
                            object["status"] = json!({});
                        }
                        ok(StatusCode::CREATED, object)
                    }
                    _ => Err(bad_request("the body must be a JSON object")),
                },
                (method, _) => Err(status(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "MethodNotAllowed",
                    &format!("the server does not allow this method on the requested resource ({method})"),
                )),
            };
        }
        if let (Some(sub), Some(name)) = (&target.subresource, &target.name) {
            return self.subresource(&target, name, sub, &parts.method, &content_type, body);
        }
        match (&parts.method, &target.name) {
            (&Method::GET, None) if watch => self.watch(&target),
            (&Method::GET, None) => self.list(&target),
            (&Method::POST, None) => self.create(&target, body),
            (&Method::DELETE, None) => self.delete_collection(&target),
            (&Method::GET, Some(name)) => self.get(&target, name),
            (&Method::PUT, Some(name)) => self.update(&target, name, body),
            (&Method::PATCH, Some(name)) => self.patch(&target, name, &content_type, body),
            (&Method::DELETE, Some(name)) => self.delete(&target, name),
            (method, _) => Err(status(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                &format!("{method} is not served here yet"),
            )),
        }
    }

    fn route(&self, uri: &http::Uri) -> Result<Target, ApiError> {
        let query = uri.query().map(parse_query).unwrap_or_default();
        let segments: Vec<&str> = uri.path().split('/').filter(|s| !s.is_empty()).collect();
        let (group, version, rest) = match segments.as_slice() {
            ["api", version, rest @ ..] => ("", *version, rest),
            ["apis", group, version, rest @ ..] => (*group, *version, rest),
            _ => return Err(page_not_found()),
        };
        let state = self.lock();
        // A group-version nothing serves is no API at all: the real server's mux answers.
        if !state.served.keys().any(|(g, v, _)| g == group && v == version) {
            return Err(page_not_found());
        }
        let unknown =
            || ApiError { details: Some(json!({})), ..not_found("the server could not find the requested resource") };
        let served = |plural: &str| state.served.get(&(group.to_owned(), version.to_owned(), plural.to_owned()));
        let (namespace, rest) = match rest {
            ["namespaces", ns, plural, rest @ ..] if served(plural).is_some() => {
                (Some((*ns).to_owned()), rest_with(plural, rest))
            }
            _ => (None, rest.to_vec()),
        };
        let Some(plural) = rest.first() else { return Err(unknown()) };
        let Some(s) = served(plural).cloned() else { return Err(unknown()) };
        if rest.len() > 3 {
            return Err(unknown());
        }
        Ok(Target {
            resource: (group.to_owned(), version.to_owned(), (*plural).to_owned()),
            store: storage(group, plural),
            served: s,
            namespace,
            name: rest.get(1).map(|n| (*n).to_owned()),
            subresource: rest.get(2).map(|n| (*n).to_owned()),
            query,
            applied: false,
            background: false,
            preconditions: Value::Null,
            manager: String::new(),
            metadata_only: false,
        })
    }
}

/// `/version`: the Kubernetes version whose behaviour the fake follows. It is no build of
/// Kubernetes, so the build fields say so.
fn version() -> Value {
    json!({
        "major": "1", "minor": "36", "emulationMajor": "1", "emulationMinor": "36",
        "minCompatibilityMajor": "1", "minCompatibilityMinor": "35",
        "gitVersion": "v1.36.0+kube-codegen-fake", "gitCommit": "", "gitTreeState": "",
        "buildDate": "1970-01-01T00:00:00Z", "goVersion": "", "compiler": "", "platform": "",
    })
}

/// Whether a request's `Accept` headers take JSON (or text, for logs): none at all do.
fn acceptable(accepts: Vec<&str>) -> bool {
    accepts.is_empty()
        || accepts.iter().flat_map(|a| a.split(',')).any(|range| {
            let media = range.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            matches!(media.as_str(), "" | "*/*" | "application/*" | "application/json" | "text/*" | "text/plain")
        })
}

/// `ns/name` rest of a namespaced path, with the plural first.
fn rest_with<'a>(plural: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    std::iter::once(plural).chain(rest.iter().copied()).collect()
}

/// Whether a DELETE cascades in the background (or foreground) rather than orphaning, and its
/// preconditions, from its DeleteOptions: a body, or query parameters. A body that is not DeleteOptions is a 400, as
/// the real server's.
fn delete_options(target: &Target, body: &[u8]) -> Result<(bool, Value), ApiError> {
    let options: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        match serde_json::from_slice(body) {
            Ok(options @ Value::Object(_)) => options,
            Ok(_) | Err(_) => return Err(bad_request("the body of a DELETE must be a DeleteOptions object")),
        }
    };
    let propagation =
        options["propagationPolicy"].as_str().or(target.query.get("propagationPolicy").map(String::as_str));
    Ok((matches!(propagation, Some("Background" | "Foreground")), options["preconditions"].clone()))
}
