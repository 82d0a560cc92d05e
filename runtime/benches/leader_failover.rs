//! Leader-election failover in virtual time: three candidates on the in-memory API server with
//! client-go's timings (lease 15 s, renew deadline 10 s, retry 2 s); the leader is cut off from
//! the API server at a different phase of its renewal cycle in each of 20 runs. Reports when
//! the old leader stopped leading and when another started, measured from the cut, against the
//! bound of lease duration + retry period (17 s) from the last renewal, which the cut follows.
//!
//! `cargo bench -p kube-codegen-runtime --features fake --bench leader_failover`

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube_codegen_runtime::fake::ApiServer;
use kube_codegen_runtime::leader_election::{LeaderElection, LeaderStatus};
use tokio::sync::watch;
use tokio::time::{Instant, sleep};

const RUNS: u32 = 20;

async fn first_leader(statuses: &[watch::Receiver<LeaderStatus>], except: Option<usize>) -> usize {
    loop {
        if let Some(i) = (0..statuses.len()).find(|&i| Some(i) != except && statuses[i].borrow().is_leader) {
            return i;
        }
        sleep(Duration::from_millis(1)).await;
    }
}

/// One failover: (old leader stopped, new leader started), both after the cut.
async fn failover(run: u32) -> (Duration, Duration) {
    let server = ApiServer::new();
    server.register::<Lease>();
    let mut statuses = Vec::new();
    let mut links = Vec::new();
    for name in ["a", "b", "c"] {
        let (client, link) = server.linked_client();
        let mut election = LeaderElection::new(client, "kube-system", "controller", name);
        statuses.push(election.status());
        links.push(link);
        tokio::spawn(async move { election.run(std::future::pending(), std::future::pending::<()>).await });
    }
    let old = first_leader(&statuses, None).await;
    // A different phase of the 2 s renewal cycle in each run.
    sleep(Duration::from_secs(7) + Duration::from_millis(u64::from(run) * 2000 / u64::from(RUNS))).await;
    let cut = Instant::now();
    links[old].partition();
    let mut old_status = statuses[old].clone();
    let stopped = async {
        let _ = old_status.wait_for(|s| !s.is_leader).await;
        cut.elapsed()
    };
    let started = async {
        first_leader(&statuses, Some(old)).await;
        cut.elapsed()
    };
    tokio::join!(stopped, started)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let (mut stops, mut starts) = (Vec::new(), Vec::new());
    for run in 0..RUNS {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
        let (stopped, started) = rt.block_on(failover(run));
        assert!(stopped < started, "run {run}: the new leader started before the old one stopped");
        stops.push(stopped);
        starts.push(started);
    }
    let secs = |d: Duration| d.as_secs_f64();
    let range = |v: &[Duration]| {
        (secs(*v.iter().min().unwrap_or(&Duration::ZERO)), secs(*v.iter().max().unwrap_or(&Duration::ZERO)))
    };
    let (smin, smax) = range(&stops);
    let (nmin, nmax) = range(&starts);
    println!("{RUNS} failovers, virtual time, lease 15 s / renew deadline 10 s / retry 2 s; bound 17 s");
    println!("old leader stopped after the cut: median {:.2} s (range {smin:.2}..{smax:.2})", secs(median(stops)));
    println!("new leader started after the cut: median {:.2} s (range {nmin:.2}..{nmax:.2})", secs(median(starts)));
}
