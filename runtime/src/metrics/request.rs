//! What a request to the API server is, read from its method, path and query: the Kubernetes
//! verb, the resource (with its subresource) and the namespace. Metrics label by these and
//! never by the raw URL, so no object name becomes a label value.

use http::Method;

/// A request as the API server's authorizer would name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestShape {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `apply`, `delete`,
    /// `deletecollection`; for requests outside the resource API (discovery, `/version`,
    /// OpenAPI), the lower-case HTTP method.
    pub verb: &'static str,
    /// `pods`, `deployments.apps`, `deployments.apps/scale`, `widgets.example.com/status`;
    /// empty for requests outside the resource API.
    pub resource: String,
    /// The namespace in the path, if any.
    pub namespace: Option<String>,
}

impl RequestShape {
    /// Reads `method`, `path` and `query` (without the `?`) of a request. `apply` stands
    /// for a PATCH whose `content_type` is `application/apply-patch+yaml`.
    pub fn of(method: &Method, path: &str, query: Option<&str>, content_type: Option<&str>) -> RequestShape {
        let shape = Shape::parse(method, path, query, content_type);
        RequestShape {
            verb: shape.verb,
            resource: shape.resource_name(),
            namespace: shape.namespace.map(str::to_owned),
        }
    }
}

/// [`RequestShape`] borrowed from the request, so the metrics layer reads it without
/// allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Shape<'a> {
    pub verb: &'static str,
    pub group: &'a str,
    /// Empty outside the resource API.
    pub resource: &'a str,
    pub subresource: Option<&'a str>,
    pub namespace: Option<&'a str>,
}

impl<'a> Shape<'a> {
    pub(crate) fn parse(method: &Method, path: &'a str, query: Option<&str>, content_type: Option<&str>) -> Shape<'a> {
        // The first 8 segments are all that matter: `/apis/{g}/{v}/namespaces/{ns}/{r}/{name}/{sub}`
        // (a proxy path goes on after them). Split by hand: this runs on every request, and
        // `str::split` costs several times as much.
        let mut segments = [""; 8];
        let mut count = 0;
        let mut begin = 0;
        for (at, byte) in path.bytes().chain(std::iter::once(b'/')).enumerate() {
            if byte != b'/' {
                continue;
            }
            if at > begin {
                let Some(slot) = segments.get_mut(count) else { break };
                *slot = path.get(begin..at).unwrap_or_default();
                count += 1;
            }
            begin = at + 1;
        }
        let segments = segments.get(..count).unwrap_or_default();
        // `/api/v1/...` or `/apis/{group}/{version}/...`.
        let (group, rest) = match segments {
            ["api", _version, rest @ ..] => ("", rest),
            ["apis", group, _version, rest @ ..] => (*group, rest),
            _ => return Shape::outside(method),
        };
        // `namespaces/{ns}/{resource}...`, except the namespace object itself
        // (`namespaces/{name}`, its `status` and `finalize`).
        let (namespace, rest) = match rest {
            ["namespaces", _] | ["namespaces", _, "status" | "finalize"] if group.is_empty() => (None, rest),
            ["namespaces", ns, more @ ..] if !more.is_empty() => (Some(*ns), more),
            _ => (None, rest),
        };
        let (resource, named, subresource) = match rest {
            [resource] => (*resource, false, None),
            [resource, _name] => (*resource, true, None),
            [resource, _name, sub, ..] => (*resource, true, Some(*sub)),
            _ => return Shape::outside(method),
        };
        let watch = query.is_some_and(is_watch);
        let verb = match *method {
            Method::GET if watch => "watch",
            Method::GET if named => "get",
            Method::GET => "list",
            Method::POST => "create",
            Method::PUT => "update",
            Method::PATCH if content_type.is_some_and(|c| c.starts_with("application/apply-patch")) => "apply",
            Method::PATCH => "patch",
            Method::DELETE if named => "delete",
            Method::DELETE => "deletecollection",
            _ => method_name(method),
        };
        Shape { verb, group, resource, subresource, namespace }
    }

    fn outside(method: &Method) -> Shape<'static> {
        Shape { verb: method_name(method), group: "", resource: "", subresource: None, namespace: None }
    }

    /// `deployments.apps/scale`: the resource label.
    pub(crate) fn resource_name(&self) -> String {
        let mut name =
            String::with_capacity(self.resource.len() + self.group.len() + self.subresource.map_or(0, str::len) + 2);
        name.push_str(self.resource);
        if !self.group.is_empty() {
            name.push('.');
            name.push_str(self.group);
        }
        if let Some(sub) = self.subresource {
            name.push('/');
            name.push_str(sub);
        }
        name
    }
}

/// `watch=true` or `watch=1` in a query, as the API server reads it.
fn is_watch(query: &str) -> bool {
    form_pairs(query).any(|(k, v)| k == "watch" && matches!(v, "true" | "1"))
}

/// The `key=value` pairs of a query, undecoded: the keys and values read here never need it.
fn form_pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query.split('&').map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// The method in lower case, for labels; an extension method is `other`, so no request can
/// add label values.
pub(crate) fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "get",
        Method::POST => "post",
        Method::PUT => "put",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        Method::HEAD => "head",
        Method::OPTIONS => "options",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(method: Method, uri: &str) -> (&'static str, String, Option<String>) {
        let (path, query) = uri.split_once('?').map_or((uri, None), |(p, q)| (p, Some(q)));
        let s = RequestShape::of(&method, path, query, None);
        (s.verb, s.resource, s.namespace)
    }

    #[test]
    fn verbs_resources_and_namespaces() {
        let ns = Some("ns".to_owned());
        assert_eq!(shape(Method::GET, "/api/v1/namespaces/ns/pods"), ("list", "pods".into(), ns.clone()));
        assert_eq!(shape(Method::GET, "/api/v1/namespaces/ns/pods/p1"), ("get", "pods".into(), ns.clone()));
        assert_eq!(shape(Method::GET, "/api/v1/pods?watch=true&resourceVersion=5"), ("watch", "pods".into(), None));
        assert_eq!(shape(Method::GET, "/api/v1/pods?watch=1"), ("watch", "pods".into(), None));
        assert_eq!(shape(Method::GET, "/api/v1/pods?watch=false"), ("list", "pods".into(), None));
        assert_eq!(
            shape(Method::PUT, "/apis/apps/v1/namespaces/ns/deployments/d/scale"),
            ("update", "deployments.apps/scale".into(), ns.clone())
        );
        assert_eq!(
            shape(Method::DELETE, "/apis/example.com/v1/namespaces/ns/widgets"),
            ("deletecollection", "widgets.example.com".into(), ns.clone())
        );
        assert_eq!(shape(Method::POST, "/api/v1/namespaces"), ("create", "namespaces".into(), None));
        assert_eq!(shape(Method::GET, "/api/v1/namespaces/kube-system"), ("get", "namespaces".into(), None));
        assert_eq!(shape(Method::PUT, "/api/v1/namespaces/x/finalize"), ("update", "namespaces/finalize".into(), None));
        assert_eq!(shape(Method::GET, "/apis/apps/v1"), ("get", String::new(), None));
        assert_eq!(
            shape(Method::GET, "/api/v1/namespaces/ns/pods/p/proxy/a/b/c/d"),
            ("get", "pods/proxy".into(), ns.clone())
        );
        assert_eq!(shape(Method::GET, "/version"), ("get", String::new(), None));
        assert_eq!(shape(Method::GET, "/openapi/v3/apis/apps/v1?hash=x"), ("get", String::new(), None));
        let apply = RequestShape::of(
            &Method::PATCH,
            "/api/v1/namespaces/ns/configmaps/c",
            None,
            Some("application/apply-patch+yaml"),
        );
        assert_eq!(apply.verb, "apply");
    }

    #[test]
    fn no_object_name_reaches_a_label() {
        for name in ["web-1", "zz.9", "q"] {
            let s = RequestShape::of(&Method::GET, &format!("/api/v1/namespaces/ns/configmaps/{name}"), None, None);
            assert!(!s.resource.contains(name) && s.verb == "get", "{s:?}");
        }
    }
}
