//! The generated clientset against recorded Kubernetes v1.36 traffic
//! (`../shared/corpus/replays/v1-36`): its requests match the recordings (method, path, query
//! as a set, body as JSON, content type) and the recorded responses decode as its types.
//! The program is `scenarios/clientset_replay.rs`.

use kube_codegen::Settings;
use kube_codegen_tests::{Harness, corpus, workspace};

#[test]
fn generated_clientset_matches_recorded_traffic() {
    let model = kube_codegen_openapi::read(&[corpus().join("openapi/v2/swagger-v1.36.0.json")]).unwrap();
    let only = ["pods", "deployments.apps", "jobs.batch"].map(String::from).to_vec();
    let files = kube_codegen::generate(&model, &Settings { only, ..Settings::default() }).unwrap();
    // Users are on either edition; this test takes the older.
    let harness = Harness::with_edition("clientset_replay", "2021", &[("k8s", &files)]);
    let scenario = std::fs::read_to_string(workspace().join("tests/scenarios/clientset_replay.rs")).unwrap();
    harness.bin("replay", &scenario);
    let dir = corpus().join("replays/v1-36");
    let out = harness.cargo(&["run", "--quiet", "--bin", "replay", "--", dir.to_str().unwrap()]);
    assert!(out.contains("all replays matched"), "{out}");
    assert_eq!(out.lines().filter(|l| l.starts_with("ok ")).count(), 6, "{out}");
}
