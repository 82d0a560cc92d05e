//! kubectl, a client this project did not write, against the in-memory API server served over
//! HTTP (`ApiServer::serve`) and against a real kube-apiserver (`KUBE_CODEGEN_E2E_KUBECONFIG`):
//! everyday commands as a user types them, built-in kinds and a custom resource, run with the
//! machine's kubectl and with envtest's (`KUBE_CODEGEN_E2E_BIN/kubectl`). A command must end
//! the same way on both servers (success, or the same failure), unless it names the entry of
//! `fake::KNOWN_DIFFERENCES` that explains why not; a named command that now agrees fails the
//! run too, so the list stays exact. Without a real server, the commands run against the fake
//! alone and only their tally is reported.

use std::path::{Path, PathBuf};
use std::process::Command;

use kube_codegen_runtime::fake::{ApiServer, KnownDifference};

mod support;
use support::{like_kube_apiserver, suffix};

/// One command: its arguments (`{ns}`, `{dir}` and `{group}` filled in), and the known
/// difference it shows on the fake, if any.
struct Case {
    args: &'static str,
    differs: Option<&'static str>,
}

const fn case(args: &'static str) -> Case {
    Case { args, differs: None }
}

const fn differs(args: &'static str, key: &'static str) -> Case {
    Case { args, differs: Some(key) }
}

/// The commands, in order: later ones use what earlier ones made.
const CASES: &[Case] = &[
    case("version"),
    case("api-resources"),
    case("api-versions"),
    differs("create configmap typed --from-literal=a=1 -n {ns}", "json-only"),
    case("get configmap settings -n {ns} -o json"),
    case("get cm -n {ns}"),
    case("get cm -n {ns} -o wide"),
    case("get cm -n {ns} -o jsonpath={.items[*].metadata.name}"),
    case("get cm -n {ns} --chunk-size=1"),
    case("get cm -A -l app=none"),
    case("get cm -n {ns} -l app=none"),
    case("get cm -n {ns} --field-selector metadata.name=settings -o name"),
    case("label cm settings -n {ns} tier=web"),
    case("annotate cm settings -n {ns} note=hello"),
    case("patch cm settings -n {ns} --type=merge -p {\"data\":{\"b\":\"2\"}}"),
    case("patch cm settings -n {ns} --type=json -p [{\"op\":\"add\",\"path\":\"/data/c\",\"value\":\"3\"}]"),
    case("patch cm settings -n {ns} -p {\"data\":{\"d\":\"4\"}}"),
    case("apply -n {ns} -f {dir}/applied.yaml"),
    case("apply -n {ns} -f {dir}/applied-changed.yaml"),
    case("apply --server-side --field-manager=first -n {ns} -f {dir}/ssa.yaml"),
    case("apply --server-side --field-manager=second -n {ns} -f {dir}/ssa-other.yaml"),
    case("apply --server-side --field-manager=second --force-conflicts -n {ns} -f {dir}/ssa-other.yaml"),
    case("diff -n {ns} -f {dir}/ssa.yaml"),
    differs("create configmap dry --from-literal=a=1 --dry-run=server -n {ns}", "json-only"),
    case("get cm dry -n {ns}"),
    differs("create deployment typed --image=nginx:1 -n {ns}", "json-only"),
    case("scale deployment web --replicas=3 -n {ns}"),
    case("set image deployment/web nginx=nginx:2 -n {ns}"),
    case("get deploy web -n {ns} -o jsonpath={.spec.replicas}"),
    case("replace -n {ns} -f {dir}/replaced.yaml"),
    case("explain configmap.data"),
    case("apply -f {dir}/crd.yaml"),
    case("wait --for=condition=Established crd/widgets.{group} --timeout=30s"),
    case("create -n {ns} -f {dir}/widget.yaml"),
    case("get widgets -n {ns}"),
    case("get wd -n {ns} -o name"),
    case("get all -n {ns} -o name"),
    case("delete cm settings -n {ns}"),
    case("get cm settings -n {ns}"),
    case("delete -f {dir}/crd.yaml"),
];

fn write_inputs(dir: &Path, group: &str) {
    let files = [
        ("applied.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: \"1\"\n".to_owned()),
        (
            "applied-changed.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  a: \"2\"\n".to_owned(),
        ),
        ("ssa.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  shared: \"x\"\n".to_owned()),
        (
            "ssa-other.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ssa\ndata:\n  shared: \"y\"\n".to_owned(),
        ),
        (
            "replaced.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: applied\ndata:\n  replaced: \"yes\"\n".to_owned(),
        ),
        (
            "crd.yaml",
            format!(
                "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.{group}\n\
                 spec:\n  group: {group}\n  scope: Namespaced\n  names:\n    plural: widgets\n    singular: widget\n    kind: Widget\n    shortNames: [wd]\n    categories: [all]\n\
                 \x20 versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            properties:\n              size:\n                type: integer\n"
            ),
        ),
        ("widget.yaml", format!("apiVersion: {group}/v1\nkind: Widget\nmetadata:\n  name: small\nspec:\n  size: 2\n")),
    ];
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

/// Runs one command; `Ok` with its output when it succeeded, `Err` with its errors if not.
fn run(kubectl: &Path, kubeconfig: &Path, cache: &Path, args: &str) -> Result<String, String> {
    // Arguments are split on spaces: none of the commands above quotes one.
    let output = Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--cache-dir")
        .arg(cache)
        .arg("--request-timeout=20s")
        .args(args.split(' '))
        .output()
        .map_err(|e| format!("{}: {e}", kubectl.display()))?;
    let out = String::from_utf8_lossy(&output.stdout).into_owned();
    let err = String::from_utf8_lossy(&output.stderr).into_owned();
    if output.status.success() {
        Ok(out)
    } else {
        Err(format!("{}{}", out, err.lines().take(3).collect::<Vec<_>>().join(" | ")))
    }
}

fn kubectls() -> Vec<PathBuf> {
    let mut found = Vec::new();
    if Command::new("kubectl").arg("version").arg("--client").output().is_ok_and(|o| o.status.success()) {
        found.push(PathBuf::from("kubectl"));
    }
    if let Some(bin) = std::env::var_os("KUBE_CODEGEN_E2E_BIN") {
        let k = Path::new(&bin).join("kubectl");
        if k.exists() {
            found.push(k);
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_ends_the_same_way_against_the_fake_and_kube_apiserver() {
    let kubectls = kubectls();
    assert!(!kubectls.is_empty(), "no kubectl on PATH or in KUBE_CODEGEN_E2E_BIN");
    let server = like_kube_apiserver();
    let serving = server.serve("127.0.0.1:0").await.unwrap();
    let real = std::env::var_os("KUBE_CODEGEN_E2E_KUBECONFIG").map(PathBuf::from);
    if real.is_none() {
        eprintln!("kubectl: only the fake ran: KUBE_CODEGEN_E2E_KUBECONFIG is not set");
    }
    let fake_kubeconfig = serving.kubeconfig().to_path_buf();

    let mut report = Vec::new();
    let mut failures = Vec::new();
    for kubectl in &kubectls {
        let version = Command::new(kubectl).args(["version", "--client", "-o", "json"]).output().ok();
        let version: serde_json::Value =
            version.and_then(|o| serde_json::from_slice(&o.stdout).ok()).unwrap_or_default();
        let version = version["clientVersion"]["gitVersion"].as_str().unwrap_or("?").to_owned();
        let work = tempdir(&format!("kcg-kubectl-{}", suffix()));
        let group = format!("k{}.kube-codegen.dev", suffix());
        let ns = format!("kcg-kubectl-{}", suffix());
        write_inputs(&work, &group);
        let fill = |args: &str| {
            args.replace("{ns}", &ns).replace("{dir}", &work.display().to_string()).replace("{group}", &group)
        };
        let (fake_cache, real_cache) = (work.join("cache-fake"), work.join("cache-real"));
        // The namespace and the objects typed commands would make (kubectl sends those in
        // protobuf, which the fake does not read) first, on both: how they are made is not
        // what is compared.
        let setup = [
            format!("create namespace {ns}"),
            format!("create configmap settings --from-literal=a=1 -n {ns}"),
            format!("create deployment web --image=nginx:1 -n {ns}"),
        ];
        seed(&server, &ns);
        if let Some(rk) = real.clone() {
            let (k, rc) = (kubectl.clone(), real_cache.clone());
            tokio::task::spawn_blocking(move || setup.iter().for_each(|s| drop(run(&k, &rk, &rc, s)))).await.unwrap();
        }
        let mut same = 0;
        let mut fake_ok = 0;
        let mut real_ok = 0;
        for c in CASES {
            if let Some(key) = c.differs {
                assert!(KnownDifference::find(key).is_some(), "`{key}` is not in fake::KNOWN_DIFFERENCES");
            }
            let args = fill(c.args);
            let (k, fk, rk, fc, rc) =
                (kubectl.clone(), fake_kubeconfig.clone(), real.clone(), fake_cache.clone(), real_cache.clone());
            let a = args.clone();
            let (on_fake, on_real) = tokio::task::spawn_blocking(move || {
                let on_fake = run(&k, &fk, &fc, &a);
                let on_real = rk.map(|rk| run(&k, &rk, &rc, &a));
                (on_fake, on_real)
            })
            .await
            .unwrap();
            fake_ok += usize::from(on_fake.is_ok());
            let Some(on_real) = on_real else {
                continue;
            };
            real_ok += usize::from(on_real.is_ok());
            let agree = on_fake.is_ok() == on_real.is_ok();
            same += usize::from(agree);
            match (agree, c.differs) {
                (true, None) | (false, Some(_)) => {}
                (false, None) => failures.push(format!(
                    "kubectl {version} {args}:\n    fake: {}\n    real: {}",
                    shorten(&on_fake),
                    shorten(&on_real)
                )),
                (true, Some(key)) => failures.push(format!("kubectl {version} {args}: agrees, yet names `{key}`")),
            }
        }
        if let Some(rk) = &real {
            let _ = run(kubectl, rk, &real_cache, &format!("delete namespace {ns} --wait=false"));
        }
        report.push(format!(
            "kubectl {version}: {} commands; succeeded: {fake_ok} on the fake{}",
            CASES.len(),
            if real.is_some() {
                format!(", {real_ok} on kube-apiserver; ended the same way: {same}")
            } else {
                String::new()
            }
        ));
        let _ = std::fs::remove_dir_all(&work);
    }
    let report = report.join("\n");
    println!("{report}");
    if let Some(dir) = std::env::var_os("KCG_REPORT_DIR") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join("kubectl.txt"), format!("{report}\n")).unwrap();
    }
    assert!(failures.is_empty(), "kubectl ends otherwise on the fake:\n{}", failures.join("\n"));
}

/// What the setup's typed commands make, written to the fake through its API.
fn seed(server: &ApiServer, ns: &str) {
    let objects = [
        serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": ns}, "data": {"a": "1"}}),
        serde_json::json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns, "labels": {"app": "web"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "nginx", "image": "nginx:1"}]}}}}),
    ];
    for object in objects {
        server.seed(&object).unwrap();
    }
}

fn shorten(outcome: &Result<String, String>) -> String {
    match outcome {
        Ok(out) => format!("ok: {}", out.chars().take(160).collect::<String>().replace('\n', " | ")),
        Err(err) => format!("failed: {}", err.chars().take(300).collect::<String>()),
    }
}

fn tempdir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
