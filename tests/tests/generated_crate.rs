//! `generate --crate-name --runtime-dir` writes a crate that builds on its own.

use kube_codegen::Settings;
use kube_codegen_tests::{CrateDir, cargo, lock_file, workspace};

#[test]
fn generated_crate_builds_on_its_own() {
    let model = kube_codegen_openapi::read(&[workspace().join("generated-example/inputs/widgets.yaml")]).unwrap();
    let files =
        kube_codegen::generate_crate(&model, &Settings::default(), "widget-types", Some(&workspace().join("runtime")))
            .unwrap();
    let dir = CrateDir::new("generated_crate");
    // Outside any workspace, as a user's checkout would be; same dependency versions as ours.
    let manifest = std::path::Path::new("Cargo.toml");
    let text = files.0.get(manifest).cloned().unwrap_or_default() + "\n[workspace]\n";
    let mut files = files;
    files.0.insert(manifest.to_owned(), text);
    files.0.insert("Cargo.lock".into(), lock_file());
    files.write(dir.path()).unwrap();
    cargo(dir.path(), &["build", "--quiet"]);
}
