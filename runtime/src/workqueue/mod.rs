//! A work queue with client-go's guarantees (`k8s.io/client-go/util/workqueue`), for
//! controllers: informer handlers add keys, workers take them.
//!
//! - An item added any number of times before a worker takes it is handed out once.
//! - An item is never handed to two workers at once: one added again while it is processed is
//!   handed out again after [`done`](Work::done), once.
//! - [`add_after`](WorkQueue::add_after) holds an item back for a while; if it is also waiting
//!   already, the earlier time wins.
//! - [`add_rate_limited`](WorkQueue::add_rate_limited) holds it back as long as the queue's
//!   [`RateLimiter`] says (by default client-go's: per-item exponential 5 ms to 1,000 s, and an
//!   overall 10 per second with a burst of 100), and counts the failure until
//!   [`forget`](WorkQueue::forget).
//! - A plain [`add`](WorkQueue::add) of an item that waits for its retry hands it out now
//!   instead of twice (once now, once at the retry), and leaves its failure count alone: only
//!   `add_rate_limited` raises it and only `forget` clears it (kubernetes issue 132805 had a
//!   plain add reset or inflate it).
//!
//! [`WorkQueue::get`] is async and any number of workers may wait on it. Time is tokio's, so
//! tests under a paused clock see exact delays.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use kube_codegen_runtime::workqueue::WorkQueue;
//!
//! let queue = WorkQueue::<String>::new();
//! queue.add("default/web".into());
//! queue.add("default/web".into()); // still one item
//! let work = queue.get().await.unwrap();
//! assert_eq!(*work, "default/web");
//! // A failed reconcile: retry after the backoff.
//! queue.add_rate_limited(work.key().clone());
//! work.done();
//! assert_eq!(queue.num_requeues(&"default/web".to_string()), 1);
//! # }
//! ```

mod metrics;
mod rate_limit;

use std::cmp::{Ordering, Reverse};
use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::fmt;
use std::hash::Hash;
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

pub use metrics::WorkQueueMetrics;
use metrics::{InFlight, QueueMetrics};
pub use rate_limit::{
    Bucket, ItemExponentialFailure, ItemFastSlow, MaxOf, RateLimiter, default_controller_rate_limiter,
};

/// What a work queue's key must be: a cheap-to-clone identity such as `(namespace, name)`.
pub trait QueueKey: Clone + Eq + Hash + Send + Sync + 'static {}
impl<K: Clone + Eq + Hash + Send + Sync + 'static> QueueKey for K {}

/// A deduplicating, rate-limited, delaying work queue shared by any number of producers and
/// workers; clones are handles to the same queue.
pub struct WorkQueue<K: QueueKey> {
    shared: Arc<Shared<K>>,
}

impl<K: QueueKey> Clone for WorkQueue<K> {
    fn clone(&self) -> Self {
        WorkQueue { shared: Arc::clone(&self.shared) }
    }
}

impl<K: QueueKey> fmt::Debug for WorkQueue<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.shared.state();
        f.debug_struct("WorkQueue")
            .field("name", &self.shared.name)
            .field("queued", &state.queue.len())
            .field("processing", &state.processing)
            .field("waiting", &state.waiting.len())
            .field("shutting_down", &state.shutting_down)
            .finish()
    }
}

struct Shared<K: QueueKey> {
    name: String,
    state: Mutex<State<K>>,
    /// Wakes workers waiting in `get`: one per item queued, all on shutdown.
    ready: Notify,
    /// Wakes `shut_down_with_drain` when the last item in progress is done.
    drained: Notify,
    limiter: Box<dyn RateLimiter<K>>,
    metrics: Option<QueueMetrics>,
}

struct State<K> {
    /// Items to hand out, in order.
    queue: VecDeque<K>,
    /// Every item queued or in progress; one lookup per operation.
    items: HashMap<K, Item>,
    /// How many items are in progress.
    processing: usize,
    /// Items held back, and when each becomes ready.
    waiting: HashMap<K, Instant>,
    /// `waiting` ordered by time; an entry whose time no longer matches `waiting` is stale.
    timers: BinaryHeap<Reverse<Timer<K>>>,
    timer_seq: u64,
    shutting_down: bool,
}

/// Where an item stands. An item neither dirty nor processing has no entry.
struct Item {
    /// Needs processing: queued, or added again while being processed.
    dirty: bool,
    /// Handed out and not yet done.
    processing: bool,
    /// When it was queued, or handed out (kept only for metrics).
    since: Option<Instant>,
}

struct Timer<K> {
    at: Instant,
    seq: u64,
    key: K,
}

impl<K> PartialEq for Timer<K> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<K> Eq for Timer<K> {}
impl<K> PartialOrd for Timer<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<K> Ord for Timer<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

/// How a [`WorkQueue`] is built: its name (for metrics and logs), rate limiter and metrics.
pub struct WorkQueueBuilder<K: QueueKey> {
    name: String,
    limiter: Option<Box<dyn RateLimiter<K>>>,
    metrics: Option<WorkQueueMetrics>,
}

impl<K: QueueKey> WorkQueueBuilder<K> {
    /// The queue's name, the `name` label of its metrics.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The rate limiter [`WorkQueue::add_rate_limited`] asks; client-go's default controller
    /// limiter when not set.
    pub fn rate_limiter(mut self, limiter: impl RateLimiter<K> + 'static) -> Self {
        self.limiter = Some(Box::new(limiter));
        self
    }

    /// Records the queue's metrics in `metrics` (see [`WorkQueueMetrics::register`]).
    pub fn metrics(mut self, metrics: &WorkQueueMetrics) -> Self {
        self.metrics = Some(metrics.clone());
        self
    }

    /// The queue.
    pub fn build(self) -> WorkQueue<K> {
        let limiter = self.limiter.unwrap_or_else(|| Box::new(default_controller_rate_limiter()));
        let registry = self.metrics;
        let name = self.name;
        let shared = Arc::new_cyclic(|me: &Weak<Shared<K>>| {
            let in_flight: Weak<dyn InFlight> = me.clone();
            Shared {
                metrics: registry.map(|m| m.for_queue(&name, in_flight)),
                name,
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    items: HashMap::new(),
                    processing: 0,
                    waiting: HashMap::new(),
                    timers: BinaryHeap::new(),
                    timer_seq: 0,
                    shutting_down: false,
                }),
                ready: Notify::new(),
                drained: Notify::new(),
                limiter,
            }
        });
        WorkQueue { shared }
    }
}

impl<K: QueueKey> Default for WorkQueue<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: QueueKey> WorkQueue<K> {
    /// A queue with client-go's default controller rate limiter and no metrics.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A queue to configure.
    pub fn builder() -> WorkQueueBuilder<K> {
        WorkQueueBuilder { name: String::new(), limiter: None, metrics: None }
    }

    /// Marks `item` as needing processing. Ignored after shutdown.
    pub fn add(&self, item: K) {
        let mut state = self.shared.state();
        // Handed out now, it need not also come back at its retry time.
        if !state.waiting.is_empty() && state.waiting.remove(&item).is_some() {
            state.compact_timers();
        }
        self.shared.add_locked(&mut state, item);
    }

    /// Adds `item` once `delay` has passed (at once for zero). If it is already waiting, the
    /// earlier of the two times holds. Ignored after shutdown.
    pub fn add_after(&self, item: K, delay: Duration) {
        let now = Instant::now();
        let mut state = self.shared.state();
        if state.shutting_down {
            return;
        }
        if delay.is_zero() {
            if state.waiting.remove(&item).is_some() {
                state.compact_timers();
            }
            self.shared.add_locked(&mut state, item);
            return;
        }
        let at = now + delay;
        match state.waiting.entry(item.clone()) {
            Entry::Occupied(e) if *e.get() <= at => return,
            Entry::Occupied(mut e) => {
                e.insert(at);
            }
            Entry::Vacant(e) => {
                e.insert(at);
            }
        }
        state.timer_seq += 1;
        let seq = state.timer_seq;
        let was_first = state.timers.peek().is_none_or(|Reverse(t)| at < t.at);
        state.timers.push(Reverse(Timer { at, seq, key: item }));
        state.compact_timers();
        drop(state);
        if was_first {
            // Workers sleeping until a later timer must wake for this earlier one.
            self.shared.ready.notify_waiters();
        }
    }

    /// Adds `item` after the wait the rate limiter gives it, counting one more failure.
    pub fn add_rate_limited(&self, item: K) {
        if self.shared.state().shutting_down {
            return;
        }
        if let Some(m) = &self.shared.metrics {
            m.retries.inc();
        }
        let delay = self.shared.limiter.when(&item);
        self.add_after(item, delay);
    }

    /// Clears `item`'s failures: call it when the item was processed successfully.
    pub fn forget(&self, item: &K) {
        self.shared.limiter.forget(item);
    }

    /// How many times `item` was added rate-limited since it was last forgotten.
    pub fn num_requeues(&self, item: &K) -> u32 {
        self.shared.limiter.num_requeues(item)
    }

    /// The next item to process, once there is one; `None` once the queue is shut down and
    /// holds nothing more to hand out. Call [`Work::done`] (or drop it) when finished.
    pub async fn get(&self) -> Option<Work<K>> {
        loop {
            let notified = self.shared.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let next_timer = {
                let mut state = self.shared.state();
                self.shared.promote_ready(&mut state);
                while let Some(key) = state.queue.pop_front() {
                    // Only an item waiting to be handed out is: `processing` counts exactly the
                    // items handed out and not done, or a drain would wait for ever.
                    let Some(item) = state.items.get_mut(&key).filter(|i| i.dirty && !i.processing) else {
                        debug_assert!(false, "a queued key with no item waiting for it");
                        continue;
                    };
                    item.dirty = false;
                    item.processing = true;
                    if let Some(m) = &self.shared.metrics {
                        let now = Instant::now();
                        m.depth.dec();
                        if let Some(at) = item.since.replace(now) {
                            m.queue_duration.observe(now.saturating_duration_since(at).as_secs_f64());
                        }
                    }
                    state.processing += 1;
                    // Another item may be queued for another waiting worker.
                    if !state.queue.is_empty() {
                        self.shared.ready.notify_one();
                    }
                    return Some(Work { queue: self.clone(), key, done_on_drop: true });
                }
                if state.shutting_down {
                    return None;
                }
                state.timers.peek().map(|Reverse(t)| t.at)
            };
            match next_timer {
                Some(at) => {
                    tokio::select! {
                        _ = &mut notified => {}
                        _ = tokio::time::sleep_until(at) => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Marks `item` as processed: if it was added again meanwhile, it is queued now. [`Work`]
    /// does this when dropped; call it directly only for keys taken with [`Work::into_key`].
    pub fn done(&self, key: &K) {
        let mut state = self.shared.state();
        let Some(item) = state.items.get_mut(key).filter(|i| i.processing) else { return };
        item.processing = false;
        let since = item.since.take();
        let again = item.dirty;
        if let Some(m) = &self.shared.metrics {
            let now = Instant::now();
            if let Some(started) = since {
                m.work_duration.observe(now.saturating_duration_since(started).as_secs_f64());
            }
            if again {
                m.depth.inc();
                item.since = Some(now);
            }
        }
        state.processing -= 1;
        if again {
            state.queue.push_back(key.clone());
            self.shared.ready.notify_one();
        } else {
            state.items.remove(key);
        }
        if state.processing == 0 {
            self.shared.drained.notify_waiters();
        }
    }

    /// Items queued and ready to hand out (not those waiting for a delay, nor in progress).
    pub fn len(&self) -> usize {
        let mut state = self.shared.state();
        self.shared.promote_ready(&mut state);
        state.queue.len()
    }

    /// Whether no item is ready to hand out.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Stops the queue: adds are ignored from now on, items held back are dropped, workers get
    /// what is already queued and then `None`.
    pub fn shut_down(&self) {
        let mut state = self.shared.state();
        state.shutting_down = true;
        state.waiting.clear();
        state.timers.clear();
        drop(state);
        self.shared.ready.notify_waiters();
    }

    /// [`shut_down`](Self::shut_down), then waits until workers have taken every queued item
    /// and finished everything in progress. Needs workers still calling [`get`](Self::get), as
    /// client-go's `ShutDownWithDrain` does; [`shut_down_with_drain_timeout`] bounds the wait.
    ///
    /// [`shut_down_with_drain_timeout`]: Self::shut_down_with_drain_timeout
    pub async fn shut_down_with_drain(&self) {
        self.shut_down();
        loop {
            let drained = self.shared.drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            {
                let state = self.shared.state();
                if state.processing == 0 && state.queue.is_empty() {
                    return;
                }
            }
            drained.await;
        }
    }

    /// [`shut_down_with_drain`](Self::shut_down_with_drain) for at most `timeout`; the error
    /// says what was left (items still queued, items still in progress): workers that stopped
    /// calling `get`, or one stuck on an item.
    pub async fn shut_down_with_drain_timeout(&self, timeout: Duration) -> Result<(), DrainTimeout> {
        match tokio::time::timeout(timeout, self.shut_down_with_drain()).await {
            Ok(()) => Ok(()),
            Err(_) => {
                let state = self.shared.state();
                Err(DrainTimeout { after: timeout, queued: state.queue.len(), processing: state.processing })
            }
        }
    }

    /// Whether [`shut_down`](Self::shut_down) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shared.state().shutting_down
    }
}

/// A drain that did not finish in time, and what it left.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the work queue did not drain within {after:?}: {queued} items still queued, {processing} in progress")]
pub struct DrainTimeout {
    /// How long was waited.
    pub after: Duration,
    /// Items queued that no worker took.
    pub queued: usize,
    /// Items handed out and not done.
    pub processing: usize,
}

impl<K: QueueKey> State<K> {
    /// Drops the timers no longer waited for once they outnumber the waiting items by far
    /// (an item re-added earlier, or handed out before its retry, leaves its old timer behind):
    /// fail-and-add cycles would otherwise grow the heap until the old deadlines pass, up to
    /// the limiter's 1,000 s. Amortised: it runs after as many stale timers as it removes.
    fn compact_timers(&mut self) {
        if self.timers.len() <= 2 * self.waiting.len() + 64 {
            return;
        }
        let waiting = &self.waiting;
        self.timers.retain(|Reverse(t)| waiting.get(&t.key) == Some(&t.at));
    }
}

impl<K: QueueKey> Shared<K> {
    fn state(&self) -> MutexGuard<'_, State<K>> {
        // Nothing runs user code under this lock, so poisoning cannot leave it half-updated.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn add_locked(&self, state: &mut State<K>, key: K) {
        if state.shutting_down {
            return;
        }
        match state.items.entry(key) {
            // Queued already, or in progress and due again after it: nothing more to do.
            Entry::Occupied(e) if e.get().dirty => {}
            Entry::Occupied(mut e) => {
                // In progress (an entry is dirty or processing): handed out again on done.
                e.get_mut().dirty = true;
                if let Some(m) = &self.metrics {
                    m.adds.inc();
                }
            }
            Entry::Vacant(e) => {
                let key = e.key().clone();
                let since = self.metrics.as_ref().map(|m| {
                    m.adds.inc();
                    m.depth.inc();
                    Instant::now()
                });
                e.insert(Item { dirty: true, processing: false, since });
                state.queue.push_back(key);
                self.ready.notify_one();
            }
        }
    }

    /// Queues every held-back item whose time has come.
    fn promote_ready(&self, state: &mut State<K>) {
        if state.timers.is_empty() {
            return;
        }
        let now = Instant::now();
        while let Some(Reverse(t)) = state.timers.peek() {
            if t.at > now {
                break;
            }
            let Some(Reverse(t)) = state.timers.pop() else { break };
            if state.waiting.get(&t.key) == Some(&t.at) {
                state.waiting.remove(&t.key);
                self.add_locked(state, t.key);
            }
        }
    }
}

impl<K: QueueKey> InFlight for Shared<K> {
    fn unfinished(&self) -> (f64, f64) {
        let now = Instant::now();
        let state = self.state();
        let started = state.items.values().filter(|i| i.processing).filter_map(|i| i.since);
        started.fold((0.0, 0.0), |(total, longest), started| {
            let secs = now.saturating_duration_since(started).as_secs_f64();
            (total + secs, f64::max(longest, secs))
        })
    }
}

/// An item handed to a worker. It derefs to the key; dropping it (or [`done`](Self::done))
/// tells the queue the worker is finished with it, so a worker that returns early or panics
/// never leaves its item blocked.
pub struct Work<K: QueueKey> {
    queue: WorkQueue<K>,
    key: K,
    /// False once the key was taken out with `into_key`: the worker calls `done` itself.
    done_on_drop: bool,
}

impl<K: QueueKey> Work<K> {
    /// The key.
    pub fn key(&self) -> &K {
        &self.key
    }

    /// Finished with the item.
    pub fn done(self) {}

    /// Takes the key out; the worker must then call [`WorkQueue::done`] with it itself.
    pub fn into_key(mut self) -> K {
        self.done_on_drop = false;
        self.key.clone()
    }
}

impl<K: QueueKey> Deref for Work<K> {
    type Target = K;
    fn deref(&self) -> &K {
        &self.key
    }
}

impl<K: QueueKey + fmt::Debug> fmt::Debug for Work<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Work").field(&self.key).finish()
    }
}

impl<K: QueueKey> Drop for Work<K> {
    fn drop(&mut self) {
        if self.done_on_drop {
            self.queue.done(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use futures::FutureExt;
    use proptest::prelude::*;

    use super::*;

    fn paused() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().expect("a runtime")
    }

    #[test]
    fn fail_and_add_cycles_leave_no_stale_timers_behind() {
        paused().block_on(async {
            let queue = WorkQueue::<u32>::new();
            for _ in 0..10_000 {
                // A failed reconcile (retry in up to 1,000 s), then an informer event for the
                // same key, which hands it out now instead.
                queue.add_rate_limited(7);
                queue.add(7);
                let work = queue.get().await.expect("queued");
                drop(work);
            }
            let state = queue.shared.state();
            assert!(state.waiting.is_empty());
            assert!(state.timers.len() <= 64, "{} timers for nothing waiting", state.timers.len());
        });
    }

    #[tokio::test(start_paused = true)]
    async fn a_drain_with_no_worker_left_ends_with_what_it_left() {
        let queue = WorkQueue::<&str>::new();
        queue.add("a");
        queue.add("b");
        let held = queue.get().await.expect("queued");
        let err = queue.shut_down_with_drain_timeout(Duration::from_secs(5)).await.expect_err("nobody drains");
        assert_eq!((err.queued, err.processing), (1, 1), "{err}");
        drop(held);
        let rest = queue.get().await.expect("still handed out after a shutdown");
        drop(rest);
        queue.shut_down_with_drain_timeout(Duration::from_secs(5)).await.expect("drained");
    }

    #[derive(Clone, Debug)]
    enum Op {
        Add(u8),
        AddAfter(u8, u16),
        AddRateLimited(u8),
        Forget(u8),
        /// A worker takes the next ready item, if any.
        Get,
        /// The n-th held item (mod the number held) is done.
        Done(usize),
        Advance(u16),
        ShutDown,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..6).prop_map(Op::Add),
            (0u8..6, 0u16..500).prop_map(|(k, ms)| Op::AddAfter(k, ms)),
            (0u8..6).prop_map(Op::AddRateLimited),
            (0u8..6).prop_map(Op::Forget),
            Just(Op::Get),
            Just(Op::Get),
            any::<usize>().prop_map(Op::Done),
            (0u16..300).prop_map(Op::Advance),
            Just(Op::ShutDown),
        ]
    }

    /// The bookkeeping agrees with itself after every step: `processing` counts exactly the
    /// items handed out and not done, each queued key is an item waiting to be handed out,
    /// and stale timers stay bounded.
    fn check(queue: &WorkQueue<u8>, held: &[Work<u8>]) {
        let state = queue.shared.state();
        let in_progress = state.items.values().filter(|i| i.processing).count();
        assert_eq!(state.processing, in_progress);
        assert_eq!(state.processing, held.len());
        let queued: HashSet<&u8> = state.queue.iter().collect();
        assert_eq!(queued.len(), state.queue.len(), "a key queued twice");
        for key in &state.queue {
            assert!(state.items.get(key).is_some_and(|i| i.dirty && !i.processing), "queued {key} is not waiting");
        }
        assert!(state.timers.len() <= 2 * state.waiting.len() + 65);
    }

    proptest! {
        #[test]
        fn any_sequence_keeps_the_queue_consistent_and_drainable(ops in proptest::collection::vec(op(), 1..200)) {
            paused().block_on(async {
                let queue = WorkQueue::<u8>::new();
                let mut held: Vec<Work<u8>> = Vec::new();
                for op in ops {
                    match op {
                        Op::Add(k) => queue.add(k),
                        Op::AddAfter(k, ms) => queue.add_after(k, Duration::from_millis(u64::from(ms))),
                        Op::AddRateLimited(k) => queue.add_rate_limited(k),
                        Op::Forget(k) => queue.forget(&k),
                        Op::Get => {
                            if let Some(Some(work)) = queue.get().now_or_never() {
                                // Never one key on two workers at once.
                                assert!(held.iter().all(|h| h.key() != work.key()), "{} handed out twice", work.key());
                                held.push(work);
                            }
                        }
                        Op::Done(n) => {
                            if !held.is_empty() {
                                let len = held.len();
                                drop(held.swap_remove(n % len));
                            }
                        }
                        Op::Advance(ms) => tokio::time::advance(Duration::from_millis(u64::from(ms))).await,
                        Op::ShutDown => queue.shut_down(),
                    }
                    check(&queue, &held);
                }
                // Shut down, finish what is held, and let a worker take the rest: the drain ends.
                queue.shut_down();
                held.clear();
                let worker = {
                    let queue = queue.clone();
                    tokio::spawn(async move { while queue.get().await.is_some() {} })
                };
                queue.shut_down_with_drain_timeout(Duration::from_secs(60)).await.expect("drained");
                worker.await.expect("the worker ends");
            });
        }
    }
}
