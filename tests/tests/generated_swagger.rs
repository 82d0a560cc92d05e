//! `--types generate` over the v1.36 swagger: the whole Kubernetes API as generated types
//! compiles with `#![deny(warnings)]`, and the objects in the recorded API-server traffic
//! round-trip through them.

use kube_codegen::{Settings, TypeMode};
use kube_codegen_tests::{Harness, corpus, roundtrip};
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
    let harness = Harness::new(&[("k8s", &files), ("deployments_only", &deployments)]);
    let paths = kube_codegen::type_paths(&model, &settings);
    harness.bin("roundtrip", &roundtrip::source(&roundtrip::arms(&model, &paths, "k8s")));
    let objects = harness.path().join("objects.json");
    let values = replay_objects();
    std::fs::write(&objects, serde_json::to_string(&values).unwrap()).unwrap();

    let report = harness.cargo(&["run", "--quiet", "--bin", "roundtrip", "--", objects.to_str().unwrap()]);
    let failed: Vec<&str> = report.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert!(failed.is_empty(), "{} objects failed to round-trip:\n{}", failed.len(), failed.join("\n"));
    let ok: Vec<&str> = report.lines().filter(|l| l.starts_with("ok")).collect();
    // Only the test's own custom resources (FooBar) have no generated type.
    let skipped: Vec<&str> = report.lines().filter(|l| l.starts_with("skip")).collect();
    assert!(skipped.iter().all(|l| l.contains(" FooBar")), "skipped: {skipped:?}");
    for kind in [" PodList ", " DeploymentList ", " Job ", " Pod ", " Status ", " CustomResourceDefinition "] {
        assert!(ok.iter().any(|l| l.contains(kind)), "no{kind}object was checked:\n{report}");
    }
    eprintln!("{} objects round-tripped, {} skipped", ok.len(), skipped.len());
}
