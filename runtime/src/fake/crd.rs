//! CustomResourceDefinitions created through the API serve their resources, as apiextensions
//! does: each served version, with its scope and subresources, until the CRD is deleted.

use serde_json::{Value, json};

use super::{ResourceKey, ResourceOptions, ScaleSubresource, Served};

/// The key of CRDs themselves.
pub(super) fn is_crd(resource: &ResourceKey) -> bool {
    resource.0 == "apiextensions.k8s.io" && resource.2 == "customresourcedefinitions"
}

/// What the API server fills in on create: the conversion strategy, `singular` and `listKind`,
/// and a status that says nothing is accepted yet.
pub(super) fn prepare(crd: &mut Value) {
    let spec = &mut crd["spec"];
    if spec["conversion"].is_null() {
        spec["conversion"] = json!({"strategy": "None"});
    }
    let kind = spec["names"]["kind"].as_str().unwrap_or_default().to_owned();
    if spec["names"]["singular"].is_null() {
        spec["names"]["singular"] = json!(kind.to_lowercase());
    }
    if spec["names"]["listKind"].is_null() {
        spec["names"]["listKind"] = json!(format!("{kind}List"));
    }
    crd["status"] = json!({
        "conditions": null,
        "acceptedNames": {"plural": "", "kind": ""},
        "storedVersions": crd["spec"]["versions"].as_array().into_iter().flatten()
            .filter(|v| v["storage"] == json!(true)).map(|v| v["name"].clone()).collect::<Vec<_>>(),
    });
}

/// How long after its create a CRD is established, as the API server's naming controller
/// does it moments later rather than in the create.
pub(super) const ESTABLISH_AFTER: std::time::Duration = std::time::Duration::from_millis(20);

/// What the real server reports once a CRD's names are accepted and it serves them.
pub(super) fn establish(crd: &mut Value, now: &str) {
    let condition = |kind: &str, reason: &str, message: &str| json!({"type": kind, "status": "True", "lastTransitionTime": now, "reason": reason, "message": message});
    crd["status"]["conditions"] = json!([
        condition("NamesAccepted", "NoConflicts", "no conflicts found"),
        condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
    ]);
    crd["status"]["acceptedNames"] = crd["spec"]["names"].clone();
}

/// A CRD being deleted: the cleanup finalizer and the Terminating condition, as the response
/// to its DELETE shows them before its resources and then it go.
pub(super) fn terminating(crd: &mut Value, now: &str) {
    crd["metadata"]["deletionTimestamp"] = json!(now);
    crd["metadata"]["finalizers"] = json!(["customresourcecleanup.apiextensions.k8s.io"]);
    if let Some(conditions) = crd["status"]["conditions"].as_array_mut() {
        conditions.push(json!({
            "type": "Terminating", "status": "True", "lastTransitionTime": now,
            "reason": "InstanceDeletionPending",
            "message": "CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
        }));
    }
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
            // `.spec.color` is selected as `spec.color`.
            let selectable = v["selectableFields"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["jsonPath"].as_str())
                .map(|p| p.trim_start_matches('.').to_owned())
                .collect();
            let served = Served {
                kind: kind.to_owned(),
                list_kind: list_kind.clone(),
                namespaced,
                options,
                schema,
                lists: None,
                custom: true,
                selectable,
                create_only: false,
            };
            Some((key, served))
        })
        .collect()
}
