//! `generate --crate-name --runtime-dir` writes a crate that builds on its own.

use kube_codegen::Settings;
use kube_codegen_tests::{cargo, workspace};

#[test]
fn generated_crate_builds_on_its_own() {
    let model = kube_codegen_openapi::read(&[workspace().join("generated-example/inputs/widgets.yaml")]).unwrap();
    let files =
        kube_codegen::generate_crate(&model, &Settings::default(), "widget-types", &workspace().join("runtime"))
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    files.write(dir.path()).unwrap();
    // Outside any workspace, as a user's checkout would be; same dependency versions as ours.
    let manifest = dir.path().join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap() + "\n[workspace]\n";
    std::fs::write(&manifest, text).unwrap();
    std::fs::copy(workspace().join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
    cargo(dir.path(), &["build", "--quiet"]);
}
