//! The clientset generated from the v1.36 swagger, against the in-memory API server: every
//! verb and every subresource kind, run as a program compiled against the generated code
//! (`scenarios/clientset_builtin.rs`); and a second program with objects a real server accepts
//! (`scenarios/clientset_both.rs`), run against the fake and, when `KUBE_CODEGEN_E2E_KUBECONFIG`
//! names a cluster, against that cluster through `kubectl proxy`.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use kube_codegen::Settings;
use kube_codegen_tests::{Harness, corpus, workspace};

/// `kubectl proxy` on a free loopback port, stopped when dropped.
struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `kubectl proxy` for `kubeconfig`; its URL.
fn proxy(kubeconfig: &std::ffi::OsStr) -> (Proxy, String) {
    let kubectl = std::env::var_os("KUBE_CODEGEN_E2E_BIN")
        .map(|bin| std::path::PathBuf::from(bin).join("kubectl"))
        .unwrap_or_else(|| "kubectl".into());
    let mut child = Command::new(&kubectl)
        .args(["proxy", "--port=0", "--kubeconfig"])
        .arg(kubeconfig)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {} proxy: {e}", kubectl.display()));
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    // "Starting to serve on 127.0.0.1:41234"
    let address = line.trim().rsplit(' ').next().unwrap_or_default().to_owned();
    assert!(address.contains(':'), "kubectl proxy said {line:?}");
    (Proxy(child), format!("http://{address}"))
}

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
    let both = std::fs::read_to_string(workspace().join("tests/scenarios/clientset_both.rs")).unwrap();
    harness.bin("both", &both);
    let out = harness.cargo(&["run", "--quiet", "--bin", "scenario"]);
    assert!(out.contains("all checks passed"), "{out}");
    let out = harness.cargo(&["run", "--quiet", "--bin", "both"]);
    assert!(out.contains("all checks passed on the fake"), "{out}");

    let Some(kubeconfig) = std::env::var_os("KUBE_CODEGEN_E2E_KUBECONFIG") else {
        eprintln!(
            "SKIPPED: the generated clientset against a real API server (KUBE_CODEGEN_E2E_KUBECONFIG is not set)"
        );
        return;
    };
    let (_proxy, url) = proxy(&kubeconfig);
    let out = kube_codegen_tests::cargo_with(
        harness.path(),
        &["run", "--quiet", "--bin", "both"],
        &[("KCG_SCENARIO_URL", &url)],
    );
    assert!(out.contains("all checks passed on kube-apiserver"), "{out}");
}
