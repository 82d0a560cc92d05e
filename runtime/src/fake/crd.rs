//! CustomResourceDefinitions created through the API serve their resources, as apiextensions
//! does: each served version, with its scope and subresources, until the CRD is deleted.

use serde_json::{Value, json};

use super::{ResourceKey, ResourceOptions, ScaleSubresource, Served};

/// The key of CRDs themselves.
pub(super) fn is_crd(resource: &ResourceKey) -> bool {
    resource.0 == "apiextensions.k8s.io" && resource.2 == "customresourcedefinitions"
}

/// What the real server reports once a CRD's names are accepted and it serves them; it does
/// so within moments, the fake at once.
pub(super) fn establish(crd: &mut Value, now: &str) {
    let condition = |kind: &str, reason: &str, message: &str| json!({"type": kind, "status": "True", "lastTransitionTime": now, "reason": reason, "message": message});
    crd["status"] = json!({
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found"),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
        ],
        "acceptedNames": crd["spec"]["names"].clone(),
        "storedVersions": crd["spec"]["versions"].as_array().into_iter().flatten()
            .filter(|v| v["storage"] == json!(true)).map(|v| v["name"].clone()).collect::<Vec<_>>(),
    });
}

/// The resources a CRD serves.
pub(super) fn served(crd: &Value) -> Vec<(ResourceKey, Served)> {
    let spec = &crd["spec"];
    let (Some(group), Some(plural), Some(kind)) =
        (spec["group"].as_str(), spec["names"]["plural"].as_str(), spec["names"]["kind"].as_str())
    else {
        return Vec::new();
    };
    let list_kind = spec["names"]["listKind"].as_str().map_or_else(|| format!("{kind}List"), str::to_owned);
    let namespaced = spec["scope"] != json!("Cluster");
    spec["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["served"] == json!(true))
        .filter_map(|v| {
            let version = v["name"].as_str()?;
            let subresources = &v["subresources"];
            let scale = subresources["scale"].as_object().map(|s| ScaleSubresource {
                spec_replicas_path: s
                    .get("specReplicasPath")
                    .and_then(Value::as_str)
                    .unwrap_or(".spec.replicas")
                    .into(),
                status_replicas_path: s
                    .get("statusReplicasPath")
                    .and_then(Value::as_str)
                    .unwrap_or(".status.replicas")
                    .into(),
                label_selector_path: s.get("labelSelectorPath").and_then(Value::as_str).map(str::to_owned),
            });
            let options = ResourceOptions { status: subresources["status"].is_object(), scale };
            let key = (group.to_owned(), version.to_owned(), plural.to_owned());
            let schema = v["schema"]["openAPIV3Schema"].clone();
            let schema = (!schema.is_null()).then_some(schema);
            Some((key, Served { kind: kind.to_owned(), list_kind: list_kind.clone(), namespaced, options, schema }))
        })
        .collect()
}
