//! `#[derive(CustomResource)]` with the runtime's `client` feature off: a crate that only
//! wants its types and CRDs gets them, builds warning-free, and builds no HTTP stack (no kube
//! client, tokio or hyper) and no YAML parser, which is what keeps it as cheap as kube-derive.

use std::process::Command;

use kube_codegen_tests::{CrateDir, harness_target, lock_file, workspace, write_if_changed};

const LIB: &str = r#"//! A derived resource without the runtime's client.
#![deny(warnings)]

use kube_codegen_runtime::CustomResource;

/// A widget's desired state.
#[derive(CustomResource, Clone, Debug, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[kube(
    group = "example.com",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus",
    scale(spec_replicas_path = ".spec.replicas", status_replicas_path = ".status.replicas")
)]
pub struct WidgetSpec {
    /// Replicas.
    pub replicas: i32,
}

/// A widget's observed state.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct WidgetStatus {
    /// Replicas.
    pub replicas: i32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube_codegen_runtime::CustomResourceExt;

    #[test]
    fn the_crd_and_the_resource_traits_are_there() {
        let crd = Widget::crd();
        assert_eq!(crd.metadata.name.as_deref(), Some("widgets.example.com"));
        let version = &crd.spec.versions[0];
        assert!(version.subresources.as_ref().unwrap().scale.is_some());
        assert_eq!(<Widget as k8s_openapi::Resource>::API_VERSION, "example.com/v1");
        let w = Widget::new("w", WidgetSpec { replicas: 2 });
        let json = serde_json::to_value(&w).unwrap();
        assert_eq!(json["kind"], "Widget");
        assert_eq!(json["spec"]["replicas"], 2);
    }
}
"#;

#[test]
fn a_derive_without_the_client_builds_types_and_crds_and_no_http_stack() {
    let dir = CrateDir::new("derive_without_client");
    write_if_changed(&dir.path().join("src/lib.rs"), LIB);
    let runtime = workspace().join("runtime");
    write_if_changed(
        &dir.path().join("Cargo.toml"),
        &format!(
            "[package]\nname = \"derive-only\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n\
             [dependencies]\nk8s-openapi = {{ version = \"0.29\", features = [\"v1_36\"] }}\n\
             kube-codegen-runtime = {{ path = {runtime:?}, default-features = false, features = [\"derive\"] }}\n\
             schemars = \"1\"\nserde = {{ version = \"1\", features = [\"derive\"] }}\nserde_json = \"1\"\n\n\
             [profile.dev]\ndebug = 0\n\n[workspace]\n"
        ),
    );
    write_if_changed(&dir.path().join("Cargo.lock"), &lock_file());
    let target = harness_target();
    let cargo = |args: &[&str]| {
        Command::new(env!("CARGO"))
            .args(args)
            .current_dir(dir.path())
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS")
            .output()
            .unwrap()
    };
    let test = cargo(&["test", "--quiet"]);
    assert!(
        test.status.success(),
        "the crate does not build or its test fails:\n{}{}",
        String::from_utf8_lossy(&test.stdout),
        String::from_utf8_lossy(&test.stderr)
    );
    let tree = cargo(&["tree", "--edges", "normal", "--prefix", "none"]);
    assert!(tree.status.success(), "{}", String::from_utf8_lossy(&tree.stderr));
    let tree = String::from_utf8_lossy(&tree.stdout);
    for heavy in ["kube-client ", "kube-runtime ", "tokio ", "hyper ", "serde-saphyr ", "rayon "] {
        assert!(!tree.lines().any(|l| l.starts_with(heavy)), "{heavy}is built:\n{tree}");
    }
    assert!(tree.lines().any(|l| l.starts_with("kube-codegen-macros ")), "{tree}");
}
