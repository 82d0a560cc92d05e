//! Against a real kube-apiserver, beside clients this project did not write: our leader
//! election and client-go's take turns on one Lease without ever both leading, whichever
//! starts first and whether the holder releases or is killed; objects written by our client
//! read back identically through kubectl, and the other way round.
//!
//! Needs `KUBE_CODEGEN_E2E_KUBECONFIG` (a cluster) and `KUBE_CODEGEN_E2E_BIN` (a folder with
//! `clientgo` and `kubectl`, as `../shared/envtest/start DIR` leaves in `DIR/bin`); CI sets
//! both. Without them each test says it skipped. Real time: a few seconds a test.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, PostParams};
use kube_codegen_runtime::ResourceClient;
use kube_codegen_runtime::leader_election::{LeaderElection, LeaderStatus, Outcome};
use serde_json::{Value, json};
use tokio::sync::watch;

/// The cluster, the tools beside it, and a namespace of this test's own.
struct Cluster {
    client: kube::Client,
    kubeconfig: PathBuf,
    bin: PathBuf,
    namespace: String,
}

impl Cluster {
    /// `None` (and a line saying so) when no cluster or tools are named.
    async fn connect(test: &str) -> Option<Cluster> {
        let (Some(kubeconfig), Some(bin)) =
            (std::env::var_os("KUBE_CODEGEN_E2E_KUBECONFIG"), std::env::var_os("KUBE_CODEGEN_E2E_BIN"))
        else {
            eprintln!("{test}: SKIPPED: needs KUBE_CODEGEN_E2E_KUBECONFIG and KUBE_CODEGEN_E2E_BIN");
            return None;
        };
        let config = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
        let config = kube::Config::from_custom_kubeconfig(config, &Default::default()).await.unwrap();
        let client = kube::Client::try_from(config).unwrap();
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
        let namespace = format!("kcg-interop-{:08x}", (nanos as u64 ^ u64::from(std::process::id())) & 0xffff_ffff);
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": namespace}})).unwrap();
        Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await.unwrap();
        Some(Cluster { client, kubeconfig: kubeconfig.into(), bin: bin.into(), namespace })
    }

    fn command(&self, tool: &str) -> Command {
        let mut command = Command::new(self.bin.join(tool));
        command.env("KUBECONFIG", &self.kubeconfig);
        command
    }

    /// kubectl's JSON of one object in the test's namespace, managedFields included.
    fn kubectl_get(&self, kind: &str, name: &str) -> Value {
        let args = ["get", kind, name, "-n", &self.namespace, "-o", "json", "--show-managed-fields"];
        let out = self.command("kubectl").args(args).output().unwrap();
        assert!(out.status.success(), "kubectl get: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// client-go's leader election on the Lease `interop` (lease `lease` seconds, renew
    /// deadline 2/3 of it, retry 2/15), released after `seconds`; its `lead`/`lost` lines.
    fn go_candidate(&self, id: &str, seconds: u64, lease: u64) -> GoCandidate {
        let mut child = self
            .command("clientgo")
            .args(["elect", &self.namespace, "interop", id, &seconds.to_string(), &lease.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        GoCandidate { child, lines }
    }

    /// Our candidate with client-go's proportions for a `lease`-second lease, and its status.
    fn rust_candidate(&self, id: &str, lease: u64) -> (LeaderElection, watch::Receiver<LeaderStatus>) {
        let lease = Duration::from_secs(lease);
        let election = LeaderElection::new(self.client.clone(), &self.namespace, "interop", id)
            .lease_duration(lease)
            .renew_deadline(lease * 2 / 3)
            .retry_period(lease * 2 / 15);
        let status = election.status();
        (election, status)
    }

    /// When the Lease `interop` was last renewed, in Unix seconds (both candidates run on this
    /// machine's clock): no other candidate may lead until a lease after it.
    async fn last_renewal(&self) -> f64 {
        let lease = Api::<Lease>::namespaced(self.client.clone(), &self.namespace).get("interop").await.unwrap();
        let renewed = lease.spec.and_then(|s| s.renew_time).expect("a renewed lease");
        renewed.0.as_microsecond() as f64 / 1e6
    }

    async fn clean_up(self) {
        let _ = Api::<Namespace>::all(self.client).delete(&self.namespace, &DeleteParams::default()).await;
    }
}

/// A client-go candidate process and the lines it printed.
struct GoCandidate {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl GoCandidate {
    /// Waits (up to `limit`) for its line starting with `word`; the Unix time it printed.
    async fn wait_for(&mut self, word: &str, limit: Duration) -> f64 {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            while let Ok(line) = self.lines.try_recv() {
                if let Some(at) = line.strip_prefix(word).and_then(|t| t.trim().parse::<f64>().ok()) {
                    return at;
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("client-go's candidate printed no `{word}` within {limit:?}");
    }

    /// Whether it printed `word` so far.
    fn said(&self, word: &str) -> bool {
        self.lines.try_iter().any(|l| l.starts_with(word))
    }
}

impl Drop for GoCandidate {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn unix_now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64()
}

/// Polls `status` (up to `limit`) until this candidate leads; the Unix time it saw it.
async fn until_leading(status: &watch::Receiver<LeaderStatus>, limit: Duration) -> f64 {
    let deadline = std::time::Instant::now() + limit;
    while !status.borrow().is_leader {
        assert!(std::time::Instant::now() < deadline, "our candidate did not lead within {limit:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    unix_now()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_client_go_leader_is_followed_by_ours_only_after_its_lease() {
    let Some(cluster) = Cluster::connect("killed client-go leader").await else { return };
    let mut go = cluster.go_candidate("go", 120, 4);
    go.wait_for("lead", Duration::from_secs(20)).await;
    let (mut ours, status) = cluster.rust_candidate("rust", 4);
    let task = tokio::spawn(async move { ours.run(std::future::pending(), std::future::pending::<()>).await });
    // Two leases of client-go renewing: ours never leads.
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert!(!status.borrow().is_leader, "ours leads while client-go renews");
    // Killed, it does not release: ours waits out the lease, 4 s from client-go's last renewal.
    let _ = go.child.kill();
    let _ = go.child.wait();
    let renewed = cluster.last_renewal().await;
    let led = until_leading(&status, Duration::from_secs(20)).await;
    assert!(led - renewed >= 4.0, "ours led {:.2} s after client-go's last renewal, inside its lease", led - renewed);
    task.abort();
    cluster.clean_up().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_leader_of_ours_is_followed_by_client_go_only_after_its_lease() {
    let Some(cluster) = Cluster::connect("dropped leader of ours").await else { return };
    let (mut ours, status) = cluster.rust_candidate("rust", 4);
    let task = tokio::spawn(async move { ours.run(std::future::pending(), std::future::pending::<()>).await });
    until_leading(&status, Duration::from_secs(20)).await;
    let mut go = cluster.go_candidate("go", 120, 4);
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert!(!go.said("lead"), "client-go leads while ours renews");
    // Dropped as a crashed process would be: no release, so client-go takes the lease a lease
    // after it last saw it change. client-go compares records with their times in whole seconds
    // (its `LeaderElectionRecord` holds `metav1.Time`), so a renewal in the same second as the
    // one before is no change to it: it may count from up to a second before our last renewal.
    task.abort();
    let _ = task.await;
    let renewed = cluster.last_renewal().await;
    let led = go.wait_for("lead", Duration::from_secs(20)).await;
    assert!(led - renewed >= 3.0, "client-go led {:.2} s after our last renewal", led - renewed);
    cluster.clean_up().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn released_leases_are_taken_over_at_once_in_both_directions() {
    let Some(cluster) = Cluster::connect("released leases").await else { return };
    // client-go leads for 6 s and releases; ours takes over within its retry period, long before
    // the 15 s lease would have run out.
    let mut go = cluster.go_candidate("go", 6, 15);
    go.wait_for("lead", Duration::from_secs(20)).await;
    let (mut ours, status) = cluster.rust_candidate("rust", 15);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        ours.run(
            async move {
                let _ = stopped.await;
            },
            std::future::pending::<()>,
        )
        .await
    });
    let lost = go.wait_for("lost", Duration::from_secs(20)).await;
    let led = until_leading(&status, Duration::from_secs(10)).await;
    assert!(led >= lost, "ours led before client-go let go");
    assert!(led - lost < 6.0, "ours took {:.2} s to take a released lease", led - lost);
    // Ours shuts down and releases; a new client-go candidate takes over within its retry.
    let mut next = cluster.go_candidate("go-next", 60, 15);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!next.said("lead"), "client-go leads while ours renews");
    let _ = stop.send(());
    assert_eq!(task.await.unwrap().unwrap(), Outcome::Shutdown);
    let released = unix_now();
    let led = next.wait_for("lead", Duration::from_secs(10)).await;
    assert!(led - released < 6.0, "client-go took {:.2} s to take a released lease", led - released);
    cluster.clean_up().await;
}

/// What our client decoded, written back as JSON, is what kubectl printed: every field the
/// server sent survives k8s-openapi's types.
fn same_json(ours: &impl serde::Serialize, theirs: &Value, what: &str) {
    let ours = serde_json::to_value(ours).unwrap();
    assert_eq!(&ours, theirs, "{what}: what our client read differs from what kubectl read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_read_back_the_same_through_our_client_and_kubectl() {
    let Some(cluster) = Cluster::connect("objects through both").await else { return };
    let configmaps = ResourceClient::<ConfigMap>::namespaced(cluster.client.clone(), &cluster.namespace);
    let written: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "settings", "labels": {"app": "web"}, "annotations": {"note": "ünïcode ✓"}},
        "data": {"a": "1", "multi": "line one\nline two"},
        "binaryData": {"blob": "AAEC/w=="},
    }))
    .unwrap();
    let created = configmaps.create(&PostParams::default(), &written).await.unwrap();
    same_json(&created, &cluster.kubectl_get("configmap", "settings"), "a ConfigMap written by ours");

    // Written by kubectl (client-side apply: its annotation and managedFields), read by ours.
    let manifest = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": cluster.namespace, "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{
                    "name": "web", "image": "nginx:1.27",
                    "ports": [{"containerPort": 80}],
                    "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}},
                    "env": [{"name": "MODE", "value": "prod"}],
                }]},
            },
        },
    });
    let mut apply = cluster.command("kubectl").args(["apply", "-f", "-"]).stdin(Stdio::piped()).spawn().unwrap();
    serde_json::to_writer(apply.stdin.take().unwrap(), &manifest).unwrap();
    assert!(apply.wait().unwrap().success(), "kubectl apply");
    let deployments = ResourceClient::<Deployment>::namespaced(cluster.client.clone(), &cluster.namespace);
    let ours = deployments.get("web").await.unwrap();
    same_json(&ours, &cluster.kubectl_get("deployment", "web"), "a Deployment written by kubectl");
    cluster.clean_up().await;
}
