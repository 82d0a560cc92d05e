//! `--types generate` over the v1.36 swagger: the whole Kubernetes API as generated types
//! compiles with `#![deny(warnings)]`, and the objects in the recorded API-server traffic
//! round-trip through them.

use kube_codegen::{Settings, TypeMode};
use kube_codegen_tests::{Harness, corpus, instances, roundtrip};
use serde_json::Value;

/// Every object in the replays' response bodies: whole bodies, and each watch event's object.
fn replay_objects() -> Vec<Value> {
    let mut out = Vec::new();
    let mut files: Vec<_> =
        std::fs::read_dir(corpus().join("replays/v1-36")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for file in files {
        let exchanges: Vec<Value> = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
        for exchange in exchanges {
            let body = exchange["response_body"].as_str().unwrap_or("");
            if let Ok(v) = serde_json::from_str::<Value>(body) {
                out.push(v);
                continue;
            }
            // A watch: one event per line.
            for line in body.lines().filter(|l| !l.trim().is_empty()) {
                let event: Value = serde_json::from_str(line).unwrap();
                out.push(event["object"].clone());
            }
        }
    }
    out
}

#[test]
fn whole_api_generates_compiles_and_round_trips_replays() {
    let settings = Settings { types: TypeMode::Generate, ..Settings::default() };
    let model = kube_codegen_openapi::read(&[corpus().join("openapi/v2/swagger-v1.36.0.json")]).unwrap();
    let files = kube_codegen::generate(&model, &settings).unwrap();
    // A selection brings exactly what its resources need, and compiles on its own.
    let only = Settings { only: vec!["deployments.apps".into()], ..settings.clone() };
    let deployments = kube_codegen::generate(&model, &only).unwrap();
    let all_text: String = deployments.0.values().cloned().collect();
    assert!(all_text.contains("pub struct Deployment ") && all_text.contains("pub struct PodSpec "));
    assert!(!all_text.contains("pub struct StatefulSet ") && !all_text.contains("pub struct CronJob "));
    // The whole API again with k8s-openapi's types: the clientset most users generate.
    let mapped = kube_codegen::generate(&model, &Settings::default()).unwrap();
    let harness =
        Harness::new("generated_swagger", &[("k8s", &files), ("deployments_only", &deployments), ("mapped", &mapped)]);
    // Verbs and subresources the spec does not declare are not methods, and a resource that
    // cannot be watched has no informer: each line fails.
    harness.bin(
        "undeclared",
        r#"
use harness::mapped::{Clientset, SharedInformerFactory};
async fn undeclared(cs: Clientset, factory: SharedInformerFactory) {
    let _ = factory.core_v1().component_statuses();
    let _ = factory.authentication_v1();
    let _ = cs.core_v1().component_statuses().create(&Default::default(), &Default::default()).await;
    let _ = cs.authentication_v1().token_reviews().list(&Default::default()).await;
    let _ = cs.core_v1().config_maps("ns").get_status("name").await;
    let _ = cs.core_v1().nodes_all();
    let _ = cs.core_v1().pods().list(&Default::default()).await;
}
fn main() {
    let _ = undeclared;
}
"#,
    );
    let errors = harness.cargo_fails(&["build", "--quiet", "--bin", "undeclared"]);
    for expected in [
        "no method named `create` found for struct `harness::mapped::core::v1::ComponentStatusClient`",
        "no method named `list` found for struct `harness::mapped::authentication::v1::TokenReviewClient`",
        "no method named `get_status` found for struct `harness::mapped::core::v1::ConfigMapClient`",
        "no method named `nodes_all` found for struct `harness::mapped::core::v1::CoreV1Client`",
        "this method takes 1 argument but 0 arguments were supplied",
        "no method named `component_statuses` found for struct `harness::mapped::core::v1::CoreV1Informers",
        "no method named `authentication_v1` found for struct `harness::mapped::SharedInformerFactory`",
    ] {
        assert!(errors.contains(expected), "expected `{expected}` in:\n{errors}");
    }
    assert_eq!(errors.matches("error[E").count(), 7, "{errors}");
    let paths = kube_codegen::type_paths(&model, &settings);
    let apply = kube_codegen::apply_paths(&model, &settings);
    harness.bin("roundtrip", &roundtrip::source(&roundtrip::arms(&model, &paths, &apply, "k8s")));
    let objects = harness.path().join("objects.json");
    // The recorded objects, and the corpus's example objects of built-in kinds (the others
    // are custom resources, which the CRD harness checks).
    let mut values = replay_objects();
    values.extend(instances());
    std::fs::write(&objects, serde_json::to_string(&values).unwrap()).unwrap();

    let report = harness.cargo(&["run", "--quiet", "--bin", "roundtrip", "--", objects.to_str().unwrap()]);
    let failed: Vec<&str> = report.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert!(failed.is_empty(), "{} objects failed to round-trip:\n{}", failed.len(), failed.join("\n"));
    let ok: Vec<&str> = report.lines().filter(|l| l.starts_with("ok")).collect();
    // Only the test's own custom resources (FooBar) have no generated type.
    let skipped: Vec<&str> = report.lines().filter(|l| l.starts_with("skip")).collect();
    // Only kinds the API does not have are skipped: the test's own FooBar, and the custom
    // resources among the example objects.
    let known: std::collections::BTreeSet<(String, String)> = model
        .types
        .iter()
        .flat_map(|d| &d.gvks)
        .map(|g| {
            (if g.group.is_empty() { g.version.clone() } else { format!("{}/{}", g.group, g.version) }, g.kind.clone())
        })
        .collect();
    let unknown = |l: &&&str| {
        let mut parts = l.split(' ').skip(1);
        let (gv, kind) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        !known.contains(&(gv.to_owned(), kind.to_owned()))
    };
    let wrongly: Vec<&&str> = skipped.iter().filter(|l| !unknown(l)).collect();
    assert!(wrongly.is_empty(), "skipped: {wrongly:?}");
    for kind in [" PodList ", " DeploymentList ", " Job ", " Pod ", " Status ", " CustomResourceDefinition "] {
        assert!(ok.iter().any(|l| l.contains(kind)), "no{kind}object was checked:\n{report}");
    }
    eprintln!("{} objects round-tripped, {} skipped", ok.len(), skipped.len());
}
