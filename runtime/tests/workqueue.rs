//! The work queue's guarantees, under tokio's paused clock so every delay is exact.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube_codegen_runtime::workqueue::{ItemExponentialFailure, WorkQueue, WorkQueueMetrics};
use proptest::prelude::*;
use tokio::time::{Instant, sleep, timeout};

const MS: Duration = Duration::from_millis(1);

/// Whether `queue` hands something out within `wait` of virtual time.
async fn gets_within(queue: &WorkQueue<&'static str>, wait: Duration) -> Option<&'static str> {
    timeout(wait, queue.get()).await.ok().flatten().map(|w| w.into_key())
}

#[tokio::test(start_paused = true)]
async fn an_item_added_many_times_before_processing_is_processed_once() {
    let q = WorkQueue::new();
    for _ in 0..5 {
        q.add("a");
    }
    q.add("b");
    assert_eq!(q.len(), 2);
    let a = q.get().await.unwrap();
    let b = q.get().await.unwrap();
    assert_eq!((*a, *b), ("a", "b"), "first-in, first-out");
    drop((a, b));
    assert_eq!(gets_within(&q, Duration::from_secs(60)).await, None);
}

#[tokio::test(start_paused = true)]
async fn an_item_re_added_while_processed_waits_for_done_and_comes_back_once() {
    let q = WorkQueue::new();
    q.add("a");
    let first = q.get().await.unwrap();
    q.add("a");
    q.add("a");
    // Another worker does not get it while the first holds it.
    assert_eq!(gets_within(&q, Duration::from_secs(1)).await, None);
    first.done();
    let second = q.get().await.unwrap();
    assert_eq!(*second, "a");
    second.done();
    assert_eq!(gets_within(&q, Duration::from_secs(1)).await, None);
}

#[tokio::test(start_paused = true)]
async fn add_after_hands_out_at_the_delay_and_the_earlier_time_wins() {
    let q = WorkQueue::new();
    let start = Instant::now();
    q.add_after("a", 50 * MS);
    q.add_after("a", 80 * MS); // later: ignored
    q.add_after("b", 30 * MS);
    q.add_after("b", 10 * MS); // earlier: wins
    let b = q.get().await.unwrap();
    assert_eq!((*b, start.elapsed()), ("b", 10 * MS));
    let a = q.get().await.unwrap();
    assert_eq!((*a, start.elapsed()), ("a", 50 * MS));
    drop((a, b));
    assert_eq!(gets_within(&q, Duration::from_secs(1)).await, None, "nothing left at 80 ms");
}

#[tokio::test(start_paused = true)]
async fn a_worker_sleeping_for_a_late_timer_wakes_for_an_earlier_one() {
    let q = WorkQueue::new();
    q.add_after("late", Duration::from_secs(10));
    let worker = tokio::spawn({
        let q = q.clone();
        async move {
            let start = Instant::now();
            let w = q.get().await.unwrap();
            (w.into_key(), start.elapsed())
        }
    });
    sleep(MS).await;
    q.add_after("early", 5 * MS);
    let (key, at) = worker.await.unwrap();
    assert_eq!((key, at), ("early", 6 * MS));
}

#[tokio::test(start_paused = true)]
async fn rate_limited_retries_follow_the_exponential_backoff_exactly() {
    let q = WorkQueue::builder().rate_limiter(ItemExponentialFailure::new(5 * MS, Duration::from_secs(1))).build();
    q.add("a");
    let mut waits = Vec::new();
    for _ in 0..10 {
        let w = q.get().await.unwrap();
        q.add_rate_limited(*w);
        drop(w);
        let before = Instant::now();
        q.get().await.unwrap().into_key();
        q.done(&"a");
        waits.push(before.elapsed().as_millis());
        q.add("a");
    }
    assert_eq!(waits, [5, 10, 20, 40, 80, 160, 320, 640, 1000, 1000]);
    assert_eq!(q.num_requeues(&"a"), 10);
    q.forget(&"a");
    assert_eq!(q.num_requeues(&"a"), 0);
}

#[tokio::test(start_paused = true)]
async fn the_default_limiter_is_client_gos() {
    let q = WorkQueue::new();
    let start = Instant::now();
    q.add_rate_limited("a");
    assert_eq!(*q.get().await.unwrap(), "a");
    assert_eq!(start.elapsed(), 5 * MS);
}

#[tokio::test(start_paused = true)]
async fn a_plain_add_during_backoff_hands_out_now_once_and_keeps_the_failure_count() {
    let q = WorkQueue::builder().rate_limiter(ItemExponentialFailure::new(100 * MS, Duration::from_secs(10))).build();
    for _ in 0..3 {
        q.add_rate_limited("a");
    }
    assert_eq!(q.num_requeues(&"a"), 3);
    // Waiting for its retry at 100 ms; an informer event adds it plainly now.
    q.add("a");
    let start = Instant::now();
    let w = q.get().await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO);
    w.done();
    assert_eq!(q.num_requeues(&"a"), 3, "a plain add neither resets nor raises the failures");
    // The retry it was waiting for is not handed out a second time.
    assert_eq!(gets_within(&q, Duration::from_secs(60)).await, None);
    // The next failure backs off from where the count was.
    q.add_rate_limited("a");
    let start = Instant::now();
    q.get().await.unwrap().done();
    assert_eq!(start.elapsed(), 800 * MS);
}

#[tokio::test(start_paused = true)]
async fn shut_down_hands_out_what_is_queued_then_none_and_ignores_adds() {
    let q = WorkQueue::new();
    q.add("a");
    q.add_after("later", 10 * MS);
    q.shut_down();
    q.add("b");
    q.add_rate_limited("c");
    assert!(q.is_shutting_down());
    assert_eq!(q.get().await.map(|w| w.into_key()), Some("a"));
    assert!(q.get().await.is_none(), "held-back and later items are dropped");

    // Workers blocked in get() are released by a shutdown.
    let q = WorkQueue::<&str>::new();
    let waiting = tokio::spawn({
        let q = q.clone();
        async move { q.get().await.map(|w| w.into_key()) }
    });
    sleep(MS).await;
    q.shut_down();
    assert_eq!(waiting.await.unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn shut_down_with_drain_waits_for_work_in_progress() {
    let q = WorkQueue::new();
    q.add("a");
    q.add("b");
    let finished = Arc::new(Mutex::new(Vec::new()));
    let worker = tokio::spawn({
        let (q, finished) = (q.clone(), Arc::clone(&finished));
        async move {
            while let Some(w) = q.get().await {
                sleep(Duration::from_secs(1)).await;
                finished.lock().unwrap().push(*w);
            }
        }
    });
    sleep(MS).await;
    let start = Instant::now();
    q.shut_down_with_drain().await;
    assert_eq!(start.elapsed(), 2 * Duration::from_secs(1) - MS);
    assert_eq!(*finished.lock().unwrap(), ["a", "b"]);
    worker.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_dropped_work_item_counts_as_done_even_when_the_worker_panics() {
    let q = WorkQueue::new();
    q.add("a");
    let crashed = tokio::spawn({
        let q = q.clone();
        async move {
            let w = q.get().await.unwrap();
            q.add(*w);
            panic!("reconciler bug");
        }
    })
    .await;
    assert!(crashed.is_err());
    assert_eq!(gets_within(&q, MS).await, Some("a"), "handed out again, not stuck as in progress");
}

#[tokio::test(start_paused = true)]
async fn metrics_carry_client_gos_names_and_grow_while_a_worker_is_stuck() {
    let mut registry = prometheus_client::registry::Registry::default();
    let metrics = WorkQueueMetrics::register(&mut registry);
    let q = WorkQueue::builder().name("widgets").metrics(&metrics).build();
    q.add("a");
    q.add("a");
    q.add("b");
    q.add_rate_limited("c");
    sleep(Duration::from_secs(2)).await;
    let stuck = q.get().await.unwrap();
    sleep(Duration::from_secs(3)).await;
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    for line in [
        r#"workqueue_adds_total{name="widgets"} 3"#,
        r#"workqueue_retries_total{name="widgets"} 1"#,
        r#"workqueue_depth{name="widgets"} 2"#,
        r#"workqueue_queue_duration_seconds_count{name="widgets"} 1"#,
        r#"workqueue_work_duration_seconds_count{name="widgets"} 0"#,
        r#"workqueue_unfinished_work_seconds{name="widgets"} 3.0"#,
        r#"workqueue_longest_running_processor_seconds{name="widgets"} 3.0"#,
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in\n{text}");
    }
    stuck.done();
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert!(text.contains(r#"workqueue_work_duration_seconds_count{name="widgets"} 1"#), "{text}");
    assert!(text.contains(r#"workqueue_unfinished_work_seconds{name="widgets"} 0.0"#), "{text}");
}

/// One step of a producer: wait, then add a key.
#[derive(Clone, Debug)]
struct Step {
    pause_ms: u64,
    key: u8,
    how: How,
}

#[derive(Clone, Debug)]
enum How {
    Add,
    After(u64),
    RateLimited,
}

fn step(keys: u8, mixed: bool) -> impl Strategy<Value = Step> {
    let how = if mixed {
        prop_oneof![3 => Just(How::Add), 1 => (1u64..40).prop_map(How::After), 1 => Just(How::RateLimited)].boxed()
    } else {
        Just(How::Add).boxed()
    };
    (0u64..5, 0..keys, how).prop_map(|(pause_ms, key, how)| Step { pause_ms, key, how })
}

/// What the workers saw: per key, when each processing started (a global order), and when
/// each request was made.
#[derive(Default)]
struct Log {
    seq: u64,
    in_progress: HashSet<u8>,
    started: HashMap<u8, Vec<u64>>,
    requested: HashMap<u8, u64>,
    overlaps: Vec<u8>,
}

/// Runs `producers` against `workers` workers that hold each item for `work_ms[key]`, on one
/// thread so that every step between two awaits is atomic and the log's order is exact.
fn run(producers: Vec<Vec<Step>>, workers: usize, work_ms: Vec<u64>) -> Log {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    rt.block_on(async move {
        let q = WorkQueue::builder().rate_limiter(ItemExponentialFailure::new(MS, Duration::from_millis(50))).build();
        let log = Arc::new(Mutex::new(Log::default()));
        let mut tasks = Vec::new();
        for _ in 0..workers {
            let (q, log, work_ms) = (q.clone(), Arc::clone(&log), work_ms.clone());
            tasks.push(tokio::spawn(async move {
                while let Some(w) = q.get().await {
                    let key = *w;
                    {
                        let mut log = log.lock().unwrap();
                        log.seq += 1;
                        let seq = log.seq;
                        if !log.in_progress.insert(key) {
                            log.overlaps.push(key);
                        }
                        log.started.entry(key).or_default().push(seq);
                    }
                    sleep(Duration::from_millis(work_ms[usize::from(key)])).await;
                    log.lock().unwrap().in_progress.remove(&key);
                    w.done();
                }
            }));
        }
        let mut producing = Vec::new();
        for steps in producers {
            let (q, log) = (q.clone(), Arc::clone(&log));
            producing.push(tokio::spawn(async move {
                for s in steps {
                    sleep(Duration::from_millis(s.pause_ms)).await;
                    let mut log = log.lock().unwrap();
                    match s.how {
                        How::Add => q.add(s.key),
                        How::After(ms) => q.add_after(s.key, Duration::from_millis(ms)),
                        How::RateLimited => q.add_rate_limited(s.key),
                    }
                    log.seq += 1;
                    let seq = log.seq;
                    log.requested.insert(s.key, seq);
                }
            }));
        }
        for p in producing {
            p.await.unwrap();
        }
        // Longer than any delay a step can ask for, so every held-back item is due.
        sleep(Duration::from_secs(1)).await;
        q.shut_down_with_drain().await;
        for t in tasks {
            t.await.unwrap();
        }
        Arc::try_unwrap(log).ok().unwrap().into_inner().unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Plain adds: no key is ever processed by two workers at once, and after a key's last add
    /// exactly one processing of it starts.
    #[test]
    fn every_last_add_is_processed_exactly_once_and_never_concurrently(
        producers in prop::collection::vec(prop::collection::vec(step(8, false), 1..40), 1..4),
        workers in 1usize..9,
        work_ms in prop::collection::vec(0u64..6, 8),
    ) {
        let log = run(producers, workers, work_ms);
        prop_assert!(log.overlaps.is_empty(), "processed concurrently: {:?}", log.overlaps);
        for (key, last) in &log.requested {
            let after = log.started.get(key).map_or(0, |s| s.iter().filter(|&&t| t > *last).count());
            prop_assert_eq!(after, 1, "key {} started {} times after its last add", key, after);
        }
        prop_assert!(log.started.keys().all(|k| log.requested.contains_key(k)));
    }

    /// Delayed and rate-limited adds mixed in: still never concurrent, and every key is
    /// processed after its last request.
    #[test]
    fn with_delays_every_request_is_served_and_never_concurrently(
        producers in prop::collection::vec(prop::collection::vec(step(6, true), 1..40), 1..4),
        workers in 1usize..9,
        work_ms in prop::collection::vec(0u64..6, 6),
    ) {
        let log = run(producers, workers, work_ms);
        prop_assert!(log.overlaps.is_empty(), "processed concurrently: {:?}", log.overlaps);
        for (key, last) in &log.requested {
            let served = log.started.get(key).is_some_and(|s| s.iter().any(|&t| t > *last));
            prop_assert!(served, "key {} was not processed after its last request", key);
        }
    }
}
