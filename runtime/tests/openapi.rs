//! What the fake serves for clients that read the API itself: aggregated discovery, and
//! `/openapi/v2` and `/openapi/v3` built from a loaded specification and the installed CRDs.

use std::path::PathBuf;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Discovery;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::discovery::Scope;
use kube_codegen_runtime::fake::ApiServer;
use serde_json::{Value, json};

fn corpus() -> PathBuf {
    std::env::var_os("KUBE_CODEGEN_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus"))
}

/// A CRD written here: `gadgets.shop.test`, v1 and v1beta1 served, status and scale on v1.
fn gadget_crd(color_type: &str) -> CustomResourceDefinition {
    let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "color": {"type": color_type}, "replicas": {"type": "integer"}}}, "status": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}});
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "gadgets.shop.test"},
        "spec": {
            "group": "shop.test",
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList"},
            "versions": [
                {"name": "v1beta1", "served": true, "storage": false, "schema": {"openAPIV3Schema": schema}},
                {"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": schema},
                 "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"}}},
            ],
        },
    }))
    .unwrap()
}

async fn server() -> ApiServer {
    let server = ApiServer::new();
    server.register::<ConfigMap>().register::<Deployment>().register::<CustomResourceDefinition>();
    let crds: Api<CustomResourceDefinition> = Api::all(server.client());
    crds.create(&PostParams::default(), &gadget_crd("string")).await.unwrap();
    server
}

/// A comparable summary of what discovery found: each group's preferred version, and every
/// resource with its scope and subresources.
fn summary(discovery: &Discovery) -> Vec<String> {
    let mut out = Vec::new();
    for group in discovery.groups_alphabetical() {
        out.push(format!("{} prefers {}", group.name(), group.preferred_version_or_latest()));
        for version in group.versions() {
            for (resource, caps) in group.versioned_resources(version) {
                let mut subresources: Vec<String> = caps.subresources.iter().map(|(r, _)| r.plural.clone()).collect();
                subresources.sort();
                out.push(format!(
                    "{} {} namespaced={} {:?}",
                    resource.api_version,
                    resource.plural,
                    caps.scope == Scope::Namespaced,
                    subresources
                ));
            }
        }
    }
    out.sort();
    out
}

/// kube's aggregated discovery (one request for `/api`, one for `/apis`) finds what its
/// per-group discovery finds, and a group prefers its GA version over its beta.
#[tokio::test]
async fn aggregated_discovery_agrees_with_per_group_discovery() {
    let server = server().await;
    let aggregated = Discovery::new(server.client()).run_aggregated().await.unwrap();
    let plain = Discovery::new(server.client()).run().await.unwrap();
    let found = summary(&aggregated);
    assert_eq!(found, summary(&plain));
    assert!(found.contains(&"shop.test prefers v1".to_owned()), "{found:?}");
    assert!(found.contains(&"shop.test/v1 gadgets namespaced=true [\"scale\", \"status\"]".to_owned()), "{found:?}");
    assert!(found.contains(&"shop.test/v1beta1 gadgets namespaced=true []".to_owned()), "{found:?}");
    assert!(found.contains(&"apps/v1 deployments namespaced=true [\"scale\", \"status\"]".to_owned()), "{found:?}");
    assert!(found.contains(&"v1 configmaps namespaced=true []".to_owned()), "{found:?}");
}

async fn get(server: &ApiServer, path: &str) -> Value {
    server.client().request(http::Request::get(path).body(Vec::new()).unwrap()).await.unwrap()
}

/// The index names each group-version's document with a hash that changes with it.
#[tokio::test]
async fn the_v3_index_hashes_each_document_and_the_hash_follows_the_crd() {
    let server = server().await;
    let index = get(&server, "/openapi/v3").await;
    let url = |index: &Value, gv: &str| index["paths"][gv]["serverRelativeURL"].as_str().unwrap().to_owned();
    let before = url(&index, "apis/shop.test/v1");
    assert!(before.starts_with("/openapi/v3/apis/shop.test/v1?hash="), "{before}");
    assert!(index["paths"]["apis/shop.test/v1beta1"].is_object());

    let document = get(&server, &before).await;
    let gadget = &document["components"]["schemas"]["test.shop.v1.Gadget"];
    assert_eq!(
        gadget["x-kubernetes-group-version-kind"],
        json!([{"group": "shop.test", "version": "v1", "kind": "Gadget"}])
    );
    assert_eq!(gadget["properties"]["spec"]["properties"]["color"]["type"], "string");
    let status = &document["paths"]["/apis/shop.test/v1/namespaces/{namespace}/gadgets/{name}/status"];
    assert_eq!(status["patch"]["x-kubernetes-action"], "patch");
    let scale = &document["paths"]["/apis/shop.test/v1/namespaces/{namespace}/gadgets/{name}/scale"];
    assert_eq!(scale["get"]["x-kubernetes-group-version-kind"]["kind"], "Scale");
    // Every reference resolves inside the document.
    let text = document.to_string();
    for name in text.split("\"#/components/schemas/").skip(1).map(|s| s.split('"').next().unwrap()) {
        assert!(document["components"]["schemas"][name].is_object(), "{name} is referred to but not defined");
    }

    let crds: Api<CustomResourceDefinition> = Api::all(server.client());
    let patch = json!({"spec": {"versions": gadget_crd("integer").spec.versions}});
    crds.patch("gadgets.shop.test", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    let after = url(&get(&server, "/openapi/v3").await, "apis/shop.test/v1");
    assert_ne!(before, after, "a changed schema is a new hash");
    let changed = get(&server, &after).await;
    assert_eq!(
        changed["components"]["schemas"]["test.shop.v1.Gadget"]["properties"]["spec"]["properties"]["color"]["type"],
        "integer"
    );

    crds.delete("gadgets.shop.test", &Default::default()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let index = get(&server, "/openapi/v3").await;
    assert!(index["paths"]["apis/shop.test/v1"].is_null(), "a deleted CRD's document goes with it");
}

/// A loaded Swagger 2.0 specification is served as it is at `/openapi/v2` (with the CRDs'
/// definitions added) and per group-version in v3 form at `/openapi/v3`.
#[tokio::test]
async fn a_loaded_specification_is_served_in_both_versions() {
    let server = server().await;
    let text = std::fs::read(corpus().join("openapi/v2/swagger-v1.36.0.json")).unwrap();
    server.load_openapi(serde_json::from_slice(&text).unwrap()).unwrap();

    let index = get(&server, "/openapi/v3").await;
    for gv in ["api/v1", "apis/apps/v1", "apis/batch/v1", "apis/shop.test/v1"] {
        assert!(index["paths"][gv]["serverRelativeURL"].is_string(), "{gv} is not in the index");
    }
    let url = index["paths"]["apis/apps/v1"]["serverRelativeURL"].as_str().unwrap().to_owned();
    let apps = get(&server, &url).await;
    assert_eq!(apps["openapi"], "3.0.0");
    assert!(!apps.to_string().contains("#/definitions/"), "every $ref is in v3 form");
    let create = &apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments"]["post"];
    assert_eq!(create["x-kubernetes-action"], "post");
    assert_eq!(
        create["requestBody"]["content"]["*/*"]["schema"]["$ref"],
        "#/components/schemas/io.k8s.api.apps.v1.Deployment"
    );
    assert_eq!(
        create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/io.k8s.api.apps.v1.Deployment"
    );
    assert!(
        apps["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"].is_object(),
        "what Deployment reaches comes along"
    );
    assert!(apps["components"]["schemas"]["io.k8s.api.batch.v1.Job"].is_null(), "and nothing else");
    let name_param = apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "name")
        .cloned()
        .unwrap();
    assert_eq!(name_param["schema"]["type"], "string");

    // The CRD's group-version refers to the loaded specification's ObjectMeta.
    let url = index["paths"]["apis/shop.test/v1"]["serverRelativeURL"].as_str().unwrap().to_owned();
    let shop = get(&server, &url).await;
    let meta = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
    assert!(shop["components"]["schemas"][meta]["properties"]["managedFields"].is_object());

    let v2 = get(&server, "/openapi/v2").await;
    assert_eq!(v2["swagger"], "2.0");
    assert!(v2["definitions"]["io.k8s.api.apps.v1.Deployment"].is_object());
    assert!(v2["definitions"]["test.shop.v1.Gadget"].is_object());
    let post = &v2["paths"]["/apis/shop.test/v1/namespaces/{namespace}/gadgets"]["post"]["parameters"];
    let ins: Vec<&str> = post.as_array().unwrap().iter().filter_map(|p| p["in"].as_str()).collect();
    assert!(ins.contains(&"body"), "the request body is a body parameter: {ins:?}");
    assert!(
        post.as_array().unwrap().iter().any(|p| p["name"] == "fieldValidation"),
        "writes take fieldValidation, which kubectl looks for"
    );
    assert!(!v2["definitions"]["test.shop.v1.Gadget"].to_string().contains("#/components/"));
}
