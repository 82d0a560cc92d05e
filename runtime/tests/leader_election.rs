//! Leader election on the in-memory API server under a paused clock: three candidates, a
//! leader cut off from the API server, a leader whose renewals fail, a release on shutdown;
//! never two leaders at any instant, checked at every tick.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube_codegen_runtime::fake::{ApiServer, Link, Verb};
use kube_codegen_runtime::leader_election::{LeaderElection, LeaderStatus, Outcome};
use tokio::sync::{oneshot, watch};
use tokio::time::{Instant, sleep};

struct Replica {
    link: Link,
    status: watch::Receiver<LeaderStatus>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Outcome>,
    /// Every holder this replica's `on_new_leader` heard of, in order.
    heard: Arc<Mutex<Vec<String>>>,
}

/// An API server and the replicas campaigning on it.
struct Cluster {
    server: ApiServer,
    /// How many replicas lead right now, counted by their callbacks, so an overlap is caught
    /// at the instant it begins and not only at a tick.
    leading: Arc<AtomicUsize>,
}

fn server() -> Cluster {
    let server = ApiServer::new();
    server.register::<Lease>();
    Cluster { server, leading: Arc::default() }
}

fn replica(cluster: &Cluster, identity: &str) -> Replica {
    let server = &cluster.server;
    let (up, down) = (Arc::clone(&cluster.leading), Arc::clone(&cluster.leading));
    let (client, link) = server.linked_client();
    let heard = Arc::new(Mutex::new(Vec::new()));
    let mut election = LeaderElection::new(client, "kube-system", "controller", identity)
        .on_new_leader({
            let heard = Arc::clone(&heard);
            move |leader| heard.lock().unwrap().push(leader.to_owned())
        })
        .on_started_leading(move || {
            let before = up.fetch_add(1, Ordering::SeqCst);
            assert_eq!(before, 0, "started leading while another replica leads");
        })
        .on_stopped_leading(move || {
            down.fetch_sub(1, Ordering::SeqCst);
        });
    let status = election.status();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        election
            .run(
                async move {
                    let _ = stopped.await;
                },
                std::future::pending::<()>,
            )
            .await
            .unwrap()
    });
    Replica { link, status, stop: Some(stop), task, heard }
}

/// Advances virtual time by `span` in 10 ms ticks, asserting at every tick that at most one
/// replica leads; returns the leaders seen at the end.
async fn watch_for(replicas: &[&Replica], span: Duration) -> Vec<usize> {
    let end = Instant::now() + span;
    loop {
        let leading: Vec<usize> =
            replicas.iter().enumerate().filter(|(_, r)| r.status.borrow().is_leader).map(|(i, _)| i).collect();
        assert!(leading.len() <= 1, "two leaders at once at {:?}: {leading:?}", Instant::now());
        if Instant::now() >= end {
            return leading;
        }
        sleep(Duration::from_millis(10)).await;
    }
}

/// Ticks until some replica other than `except` leads; returns which, and when.
async fn until_new_leader(replicas: &[&Replica], except: Option<usize>, limit: Duration) -> (usize, Instant) {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        let leading = watch_for(replicas, Duration::ZERO).await;
        if let Some(&i) = leading.iter().find(|&&i| Some(i) != except) {
            return (i, Instant::now());
        }
        sleep(Duration::from_millis(10)).await;
    }
    panic!("no new leader within {limit:?}");
}

async fn lease(cluster: &Cluster) -> Lease {
    let api: kube::Api<Lease> = kube::Api::namespaced(cluster.server.client(), "kube-system");
    api.get("controller").await.unwrap()
}

#[tokio::test(start_paused = true)]
async fn three_candidates_elect_one_leader_and_all_hear_of_it() {
    let server = server();
    let rs = [replica(&server, "a"), replica(&server, "b"), replica(&server, "c")];
    let refs: Vec<&Replica> = rs.iter().collect();
    let (leader, _) = until_new_leader(&refs, None, Duration::from_secs(5)).await;
    // A minute of renewals later: the same single leader, the lease renewed, no transitions.
    assert_eq!(watch_for(&refs, Duration::from_secs(60)).await, [leader]);
    let spec = lease(&server).await.spec.unwrap();
    let names = ["a", "b", "c"];
    assert_eq!(spec.holder_identity.as_deref(), Some(names[leader]));
    assert_eq!(spec.lease_duration_seconds, Some(15));
    assert_eq!(spec.lease_transitions, Some(0));
    for r in &rs {
        assert_eq!(*r.heard.lock().unwrap(), [names[leader]]);
        assert_eq!(r.status.borrow().leader.as_deref(), Some(names[leader]));
    }
}

/// Elects one of three replicas, cuts the leader off the API server with `cut_off`, and
/// returns how its run ended and how long after the cut another replica started leading.
async fn cut_off_leader(cut_off: fn(&Link)) -> (Outcome, Duration) {
    let server = server();
    let rs = [replica(&server, "a"), replica(&server, "b"), replica(&server, "c")];
    let refs: Vec<&Replica> = rs.iter().collect();
    let (old, _) = until_new_leader(&refs, None, Duration::from_secs(5)).await;
    watch_for(&refs, Duration::from_secs(7)).await;
    let cut = Instant::now();
    cut_off(&rs[old].link);
    let (new, started) = until_new_leader(&refs, Some(old), Duration::from_secs(30)).await;
    assert_ne!(new, old);
    assert!(!rs[old].status.borrow().is_leader, "the old leader stopped before the new one started");
    let spec = lease(&server).await.spec.unwrap();
    assert_eq!(spec.lease_transitions, Some(1));
    assert_eq!(spec.holder_identity.as_deref(), Some(["a", "b", "c"][new]));
    let Replica { task, .. } = rs.into_iter().nth(old).unwrap();
    (task.await.unwrap(), started - cut)
}

#[tokio::test(start_paused = true)]
async fn a_leader_cut_off_from_the_api_server_is_replaced_within_lease_duration_plus_retry_period() {
    let (outcome, failover) = cut_off_leader(Link::partition).await;
    assert_eq!(outcome, Outcome::LeadershipLost);
    // The leader last renewed at most one retry period (2 s) before the cut; the lease then
    // holds 15 s from when the others observed that renewal, which a candidate polling every
    // jittered retry period (2 s, up to 1.2 times more) sees up to 4.4 s after it was made.
    assert!(failover <= FAILOVER_BOUND, "failover took {failover:?}");
    assert!(failover >= Duration::from_secs(13), "failover after {failover:?}: the lease was not respected");
}

/// The longest a failover may take from a cut: the lease (15 s) from when the others observed
/// the leader's last renewal, at most one jittered retry period (2 s × 2.2) after it.
const FAILOVER_BOUND: Duration = Duration::from_millis(15_000 + 4_400);

#[tokio::test(start_paused = true)]
async fn a_leader_whose_renewals_fail_stops_leading_before_anyone_else_starts() {
    let (outcome, failover) = cut_off_leader(Link::refuse).await;
    assert_eq!(outcome, Outcome::LeadershipLost);
    assert!(failover <= FAILOVER_BOUND, "failover took {failover:?}");
}

#[tokio::test(start_paused = true)]
async fn the_leader_stops_within_the_renew_deadline_of_its_last_renewal() {
    let server = server();
    let mut only = replica(&server, "a");
    let refs = [&only];
    until_new_leader(&refs, None, Duration::from_secs(5)).await;
    sleep(Duration::from_secs(3)).await;
    let last_renewal = Instant::now() - Duration::from_secs(1); // renewals at 0, 2, 4 s after acquiring
    only.link.partition();
    let stopped = tokio::time::timeout(Duration::from_secs(60), only.status.wait_for(|s| !s.is_leader)).await;
    assert!(stopped.is_ok(), "still leading a minute after losing the API server");
    let stopped_after = Instant::now() - last_renewal;
    // The next round starts one retry period after the last renewal and gives up at its
    // renew deadline: 2 + 10 s, inside the 15 s lease.
    assert!(stopped_after <= Duration::from_secs(12), "stopped {stopped_after:?} after its last renewal");
    assert_eq!(only.task.await.unwrap(), Outcome::LeadershipLost);
}

#[tokio::test(start_paused = true)]
async fn release_on_shutdown_hands_over_without_waiting_for_the_lease_to_expire() {
    let server = server();
    let mut rs = [replica(&server, "a"), replica(&server, "b")];
    let (old, _) = until_new_leader(&[&rs[0], &rs[1]], None, Duration::from_secs(5)).await;
    watch_for(&[&rs[0], &rs[1]], Duration::from_secs(5)).await;
    let stop_at = Instant::now();
    let _ = rs[old].stop.take().unwrap().send(());
    let (new, started) = until_new_leader(&[&rs[0], &rs[1]], Some(old), Duration::from_secs(15)).await;
    assert_ne!(new, old);
    // The next acquire attempt, a jittered retry period (2 s to 4.4 s) away, not 15 s.
    assert!(started - stop_at <= Duration::from_millis(4400), "handover took {:?}", started - stop_at);
    let [a, b] = rs;
    let old_task = if old == 0 { a.task } else { b.task };
    assert_eq!(old_task.await.unwrap(), Outcome::Shutdown);
}

#[tokio::test(start_paused = true)]
async fn finished_work_releases_and_bad_timings_are_refused() {
    let server = server();
    let mut election = LeaderElection::new(server.server.client(), "kube-system", "controller", "a");
    let outcome = election.run(std::future::pending(), || sleep(Duration::from_secs(1))).await.unwrap();
    assert_eq!(outcome, Outcome::Finished);
    let spec = lease(&server).await.spec.unwrap();
    assert_eq!(spec.holder_identity, None, "released");
    assert_eq!(spec.lease_duration_seconds, Some(1));

    for bad in [
        LeaderElection::new(server.server.client(), "kube-system", "x", "a").renew_deadline(Duration::from_secs(15)),
        LeaderElection::new(server.server.client(), "kube-system", "x", "a").retry_period(Duration::from_secs(9)),
        LeaderElection::new(server.server.client(), "kube-system", "x", ""),
        // Written to the Lease as 1 s: another candidate could take it while this one leads.
        LeaderElection::new(server.server.client(), "kube-system", "x", "a")
            .lease_duration(Duration::from_millis(1500))
            .renew_deadline(Duration::from_secs(1))
            .retry_period(Duration::from_millis(200)),
        LeaderElection::new(server.server.client(), "kube-system", "x", "a")
            .lease_duration(Duration::from_millis(500))
            .renew_deadline(Duration::from_millis(400))
            .retry_period(Duration::from_millis(100)),
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
        let mut bad = bad;
        let err = bad.run(std::future::pending(), || async {}).await.unwrap_err();
        assert!(err.to_string().starts_with("invalid leader election configuration"), "{err}");
    }
    // Two by the run (to create, to release) and one by the test: none by the refused runs.
    assert_eq!(server.server.count(Verb::Get, "leases"), 3, "refused before any request");
}

/// A lone candidate "a", and how many times it was told it stopped leading.
fn counting_stops(cluster: &Cluster) -> (LeaderElection, Arc<AtomicUsize>) {
    let stopped = Arc::new(AtomicUsize::new(0));
    let told = Arc::clone(&stopped);
    let election =
        LeaderElection::new(cluster.server.client(), "kube-system", "controller", "a").on_stopped_leading(move || {
            told.fetch_add(1, Ordering::SeqCst);
        });
    (election, stopped)
}

#[tokio::test(start_paused = true)]
async fn a_panic_in_the_leading_work_stops_leading_releases_and_is_passed_on() {
    let cluster = server();
    let (mut election, stopped) = counting_stops(&cluster);
    let status = election.status();
    let task = tokio::spawn(async move {
        election
            .run(std::future::pending(), || async {
                sleep(Duration::from_secs(5)).await;
                panic!("the controller panicked");
            })
            .await
    });
    let err = task.await.expect_err("the panic is passed on");
    assert!(err.is_panic());
    assert!(!status.borrow().is_leader);
    assert_eq!(stopped.load(Ordering::SeqCst), 1);
    assert_eq!(lease(&cluster).await.spec.unwrap().holder_identity, None, "released before the panic went on");
}

#[tokio::test(start_paused = true)]
async fn dropping_run_while_leading_stops_leading() {
    let cluster = server();
    let (mut election, stopped) = counting_stops(&cluster);
    let mut status = election.status();
    let task = tokio::spawn(async move {
        let _ = election.run(std::future::pending(), std::future::pending::<()>).await;
    });
    status.wait_for(|s| s.is_leader).await.unwrap();
    task.abort();
    let _ = task.await;
    assert!(!status.borrow().is_leader, "is_leader cleared when run was dropped");
    assert_eq!(stopped.load(Ordering::SeqCst), 1);
    // No renewal goes on behind: the lease is left to expire.
    let renewed = lease(&cluster).await.spec.unwrap().renew_time;
    sleep(Duration::from_secs(30)).await;
    assert_eq!(lease(&cluster).await.spec.unwrap().renew_time, renewed);
}

/// Real time and two worker threads: the first leader's work blocks its thread (no await) for
/// longer than the lease, the leader loses the API server for a while and gets it back, and
/// every `on_new_leader` is slow. The renewals, in their own task on the other thread, keep the
/// lease. Then the leader loses the API server for good while its work still blocks: it stops
/// leading at its renew deadline, before the other candidate can take the lease. Never two
/// leaders at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_whose_work_blocks_its_thread_keeps_renewing_and_stops_in_time() {
    let cluster = server();
    let leading = Arc::new(AtomicUsize::new(0));
    let overlaps = Arc::new(AtomicUsize::new(0));
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let mut links = Vec::new();
    let mut tasks = Vec::new();
    let mut statuses = Vec::new();
    for identity in ["a", "b"] {
        let (client, link) = cluster.server.linked_client();
        let (up, down, overlap) = (Arc::clone(&leading), Arc::clone(&leading), Arc::clone(&overlaps));
        let mut election = LeaderElection::new(client, "kube-system", "controller", identity)
            .lease_duration(Duration::from_secs(3))
            .renew_deadline(Duration::from_secs(2))
            .retry_period(Duration::from_millis(250))
            .on_new_leader(|_| std::thread::sleep(Duration::from_secs(2)))
            .on_started_leading(move || {
                if up.fetch_add(1, Ordering::SeqCst) > 0 {
                    overlap.fetch_add(1, Ordering::SeqCst);
                }
            })
            .on_stopped_leading(move || {
                down.fetch_sub(1, Ordering::SeqCst);
            });
        statuses.push(election.status());
        links.push(link);
        let first = Arc::clone(&first);
        tasks.push(tokio::spawn(async move {
            election
                .run(std::future::pending(), || async move {
                    if first.swap(false, Ordering::SeqCst) {
                        // Blocks the worker thread, with no await, for nearly three leases.
                        std::thread::sleep(Duration::from_secs(8));
                    }
                    std::future::pending::<()>().await
                })
                .await
        }));
    }
    let leader = loop {
        if let Some(i) = statuses.iter().position(|s| s.borrow().is_leader) {
            break i;
        }
        sleep(Duration::from_millis(20)).await;
    };
    let other = 1 - leader;
    // Refused for less than the renew deadline, then back, while the work blocks.
    sleep(Duration::from_millis(500)).await;
    links[leader].refuse();
    sleep(Duration::from_millis(1000)).await;
    links[leader].heal();
    sleep(Duration::from_millis(2500)).await;
    assert!(statuses[leader].borrow().is_leader, "the leader kept the lease past its duration");
    assert_eq!(lease(&cluster).await.spec.unwrap().lease_transitions, Some(0), "the lease never changed hands");
    // Cut off for good, its work still blocking: it stops, and then the other leads.
    links[leader].partition();
    let lost = Instant::now();
    while !statuses[other].borrow().is_leader {
        assert!(lost.elapsed() < Duration::from_secs(10), "no failover");
        sleep(Duration::from_millis(20)).await;
    }
    assert!(!statuses[leader].borrow().is_leader, "the old leader stopped before the new one started");
    assert_eq!(overlaps.load(Ordering::SeqCst), 0, "two leaders at once");
    for task in tasks {
        task.abort();
    }
}
