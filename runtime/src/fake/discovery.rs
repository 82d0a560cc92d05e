//! Discovery: `/api`, `/apis` and each served group-version's resources.

use super::*;

impl ApiServer {
    /// `/api`, `/apis`, `/apis/<group>` and the resource lists of each group-version, so
    /// `kube::Discovery` works.
    pub(super) fn discovery(&self, path: &str) -> Option<Response<Body>> {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let state = self.lock();
        let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (group, version, _) in state.served.keys() {
            let versions = groups.entry(group.as_str()).or_default();
            if !versions.contains(&version.as_str()) {
                versions.push(version.as_str());
            }
        }
        for versions in groups.values_mut() {
            versions.sort_unstable();
        }
        let group_json = |name: &str, versions: &[&str]| {
            let versions: Vec<Value> =
                versions.iter().map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v})).collect();
            json!({"name": name, "versions": versions, "preferredVersion": versions.last()})
        };
        let body = match segments.as_slice() {
            ["api"] => json!({
                "kind": "APIVersions",
                "versions": groups.get("").cloned().unwrap_or_default(),
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
            }),
            ["apis"] => json!({
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": groups.iter().filter(|(g, _)| !g.is_empty()).map(|(g, v)| group_json(g, v)).collect::<Vec<_>>(),
            }),
            ["apis", group] => {
                let mut body = group_json(group, groups.get(group)?);
                body["kind"] = json!("APIGroup");
                body["apiVersion"] = json!("v1");
                body
            }
            ["api", version] => resource_list(&state, "", version)?,
            ["apis", group, version] => resource_list(&state, group, version)?,
            _ => return None,
        };
        Some(respond(StatusCode::OK, &body))
    }
}

/// The `APIResourceList` of a group-version, if it is served.
pub(super) fn resource_list(state: &State, group: &str, version: &str) -> Option<Value> {
    let verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
    let mut resources = Vec::new();
    for ((_, _, plural), s) in state.served.iter().filter(|((g, v, _), _)| g == group && v == version) {
        let verbs: &[&str] = if s.create_only { &["create"] } else { &verbs };
        resources.push(json!({"name": plural, "singularName": s.kind.to_lowercase(), "namespaced": s.namespaced, "kind": s.kind, "verbs": verbs}));
        if s.options.status {
            resources.push(json!({"name": format!("{plural}/status"), "singularName": "", "namespaced": s.namespaced, "kind": s.kind, "verbs": ["get", "patch", "update"]}));
        }
        if s.options.scale.is_some() {
            resources.push(json!({"name": format!("{plural}/scale"), "singularName": "", "namespaced": s.namespaced, "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]}));
        }
    }
    if resources.is_empty() {
        return None;
    }
    let group_version = if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") };
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}))
}
