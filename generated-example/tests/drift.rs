//! The committed code is what the generator makes of the inputs today.

use std::path::Path;

use kube_codegen::{Settings, TypeMode};

fn check(input: &str, out: &str, types: TypeMode) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let model = kube_codegen_openapi::read(&[root.join("inputs").join(input)]).unwrap();
    let settings = Settings { types, ..Settings::default() };
    let files = kube_codegen::generate(&model, &settings).unwrap();
    let drift = files.drift(&root.join("src").join(out));
    assert!(drift.is_empty(), "src/{out} is stale ({drift:?}); run generated-example/regenerate.sh");
    // Generating again gives the same bytes.
    assert_eq!(kube_codegen::generate(&model, &settings).unwrap(), files);
}

#[test]
fn widgets_are_current() {
    check("widgets.yaml", "widgets", TypeMode::MapK8sOpenapi);
}

#[test]
fn edge_cases_are_current() {
    check("edge-cases.yaml", "edge_cases", TypeMode::MapK8sOpenapi);
}

#[test]
fn mini_api_is_current() {
    check("mini-api.json", "mini_api", TypeMode::Generate);
}
