//! Throughput of the work queue against kube-runtime's scheduler doing the same deduplicated
//! work: 10,000 keys added three times each (30,000 adds, all before the first is taken, so
//! both process each key exactly once), then 8 workers take and finish them, never two on
//! one key. The scheduler side is driven as kube-runtime's `Controller`
//! drives it (its runner is private): `hold_unless` keeps a key back while it runs, with at
//! most 8 running. Rounds alternate between the two; medians.
//!
//! `cargo bench -p kube-codegen-runtime --bench workqueue`

use std::collections::HashSet;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use kube::runtime::scheduler::{ScheduleRequest, scheduler};
use kube_codegen_runtime::workqueue::WorkQueue;

const KEYS: u32 = 10_000;
const REPEATS: u32 = 3;
const WORKERS: usize = 8;
const ROUNDS: usize = 21;

/// The key a controller queues: namespace and name.
type Key = (String, String);

fn keys() -> Vec<Key> {
    (0..KEYS).map(|i| (format!("ns-{}", i % 100), format!("object-{i:05}"))).collect()
}

/// Ours: a producer adding every key `REPEATS` times, `WORKERS` tasks taking and finishing.
async fn workqueue(keys: &[Key]) -> usize {
    let q = WorkQueue::<Key>::new();
    for _ in 0..REPEATS {
        for k in keys {
            q.add(k.clone());
        }
    }
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let q = q.clone();
            tokio::spawn(async move {
                let mut n = 0;
                while let Some(w) = q.get().await {
                    std::hint::black_box(w.key());
                    n += 1;
                }
                n
            })
        })
        .collect();
    q.shut_down_with_drain().await;
    let mut processed = 0;
    for w in workers {
        processed += w.await.unwrap_or(0);
    }
    processed
}

/// kube-runtime's scheduler fed by a channel, at most `WORKERS` keys running, a running key
/// held back until it finishes.
async fn kube_scheduler(keys: &[Key]) -> usize {
    let (tx, rx) = futures::channel::mpsc::unbounded::<ScheduleRequest<Key>>();
    for _ in 0..REPEATS {
        for k in keys {
            let _ = tx.unbounded_send(ScheduleRequest { message: k.clone(), run_at: tokio::time::Instant::now() });
        }
    }
    // The scheduler ends, dropping what it holds, when its requests end: the sender stays
    // open, as a controller's triggers do, and the work ends when every key has run.
    let distinct = keys.len();
    let mut sched = pin!(scheduler(rx));
    let mut running = HashSet::new();
    let mut slots = FuturesUnordered::new();
    let mut processed = 0;
    futures::future::poll_fn(|cx| {
        loop {
            while let Poll::Ready(Some(k)) = slots.poll_next_unpin(cx) {
                running.remove(&k);
                processed += 1;
            }
            if slots.len() < WORKERS {
                match sched.as_mut().hold_unless(|k| !running.contains(k)).poll_next_unpin(cx) {
                    Poll::Ready(Some(k)) => {
                        running.insert(k.clone());
                        slots.push(async move {
                            std::hint::black_box(&k);
                            k
                        });
                        continue;
                    }
                    Poll::Ready(None) => return Poll::Ready(()),
                    Poll::Pending => {}
                }
            }
            if processed == distinct && slots.is_empty() {
                return Poll::Ready(());
            }
            return Poll::Pending;
        }
    })
    .await;
    drop(tx);
    processed
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let keys = keys();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let (mut ours_n, mut theirs_n) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let mut run_ours = || {
            let start = Instant::now();
            let n = rt.block_on(workqueue(&keys));
            ours.push(start.elapsed());
            ours_n.push(n);
        };
        let mut run_theirs = || {
            let start = Instant::now();
            let n = rt.block_on(kube_scheduler(&keys));
            theirs.push(start.elapsed());
            theirs_n.push(n);
        };
        if round % 2 == 0 {
            run_ours();
            run_theirs();
        } else {
            run_theirs();
            run_ours();
        }
    }
    let adds = f64::from(KEYS * REPEATS);
    let (o, t) = (median(ours), median(theirs));
    ours_n.sort();
    theirs_n.sort();
    println!(
        "{KEYS} keys x {REPEATS} adds, {WORKERS} workers, 2 runtime threads, median of {ROUNDS} alternating rounds"
    );
    println!(
        "workqueue:              {:>8.1} ms  {:>9.0} adds/s  processed {}..{}",
        o.as_secs_f64() * 1e3,
        adds / o.as_secs_f64(),
        ours_n[0],
        ours_n[ours_n.len() - 1]
    );
    println!(
        "kube-runtime scheduler: {:>8.1} ms  {:>9.0} adds/s  processed {}..{}",
        t.as_secs_f64() * 1e3,
        adds / t.as_secs_f64(),
        theirs_n[0],
        theirs_n[theirs_n.len() - 1]
    );
    println!("throughput ratio (workqueue / scheduler): {:.2}x", t.as_secs_f64() / o.as_secs_f64());
}
