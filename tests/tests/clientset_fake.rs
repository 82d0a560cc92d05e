//! The clientset generated from the v1.36 swagger, against the in-memory API server: every
//! verb and every subresource kind, run as a program compiled against the generated code
//! (`scenarios/clientset_builtin.rs`).

use kube_codegen::Settings;
use kube_codegen_tests::{Harness, corpus, workspace};

#[test]
fn generated_clientset_serves_every_verb_and_subresource() {
    let model = kube_codegen_openapi::read(&[corpus().join("openapi/v2/swagger-v1.36.0.json")]).unwrap();
    let only = [
        "pods",
        "configmaps",
        "nodes",
        "namespaces",
        "serviceaccounts",
        "deployments.apps",
        "certificatesigningrequests.certificates.k8s.io",
    ];
    let settings = Settings { only: only.iter().map(|s| s.to_string()).collect(), ..Settings::default() };
    let files = kube_codegen::generate(&model, &settings).unwrap();
    let harness = Harness::new("clientset_fake", &[("k8s", &files)]);
    let scenario = std::fs::read_to_string(workspace().join("tests/scenarios/clientset_builtin.rs")).unwrap();
    harness.bin("scenario", &scenario);
    let out = harness.cargo(&["run", "--quiet", "--bin", "scenario"]);
    assert!(out.contains("all checks passed"), "{out}");
}
