//! How long an item waits before it is retried: client-go's rate limiters, with its defaults.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Decides how long an item waits before a retry ([`WorkQueue::add_rate_limited`]), and
/// remembers its failures until [`forget`](Self::forget).
///
/// [`WorkQueue::add_rate_limited`]: super::WorkQueue::add_rate_limited
pub trait RateLimiter<K>: Send + Sync {
    /// The wait before `item` is handed out again; counts one more failure of it.
    fn when(&self, item: &K) -> Duration;
    /// Stops tracking `item`: its next failure starts from the first delay again.
    fn forget(&self, item: &K);
    /// How many times `item` has failed since it was last forgotten.
    fn num_requeues(&self, item: &K) -> u32;
}

impl<K, R: RateLimiter<K> + ?Sized> RateLimiter<K> for Box<R> {
    fn when(&self, item: &K) -> Duration {
        (**self).when(item)
    }
    fn forget(&self, item: &K) {
        (**self).forget(item)
    }
    fn num_requeues(&self, item: &K) -> u32 {
        (**self).num_requeues(item)
    }
}

/// client-go's `DefaultControllerRateLimiter`: the larger of a per-item exponential backoff
/// (5 ms doubling to 1,000 s) and an overall token bucket (10 per second, burst 100).
pub fn default_controller_rate_limiter<K: Eq + Hash + Clone + Send + 'static>() -> MaxOf<K> {
    MaxOf::new(vec![
        Box::new(ItemExponentialFailure::new(Duration::from_millis(5), Duration::from_secs(1000))),
        Box::new(Bucket::new(10.0, 100)),
    ])
}

/// Per item: `base * 2^failures`, at most `max`.
pub struct ItemExponentialFailure<K> {
    base: Duration,
    max: Duration,
    failures: Mutex<HashMap<K, u32>>,
}

impl<K> ItemExponentialFailure<K> {
    /// A backoff starting at `base` and capped at `max`.
    pub fn new(base: Duration, max: Duration) -> Self {
        ItemExponentialFailure { base, max, failures: Mutex::new(HashMap::new()) }
    }
}

impl<K: Eq + Hash + Clone + Send> RateLimiter<K> for ItemExponentialFailure<K> {
    fn when(&self, item: &K) -> Duration {
        let mut failures = lock(&self.failures);
        let count = failures.entry(item.clone()).or_insert(0);
        let exp = *count;
        *count = count.saturating_add(1);
        // Past 2^31 the product overflows long before; the cap is the answer from there on.
        2u32.checked_pow(exp).and_then(|factor| self.base.checked_mul(factor)).map_or(self.max, |d| d.min(self.max))
    }
    fn forget(&self, item: &K) {
        lock(&self.failures).remove(item);
    }
    fn num_requeues(&self, item: &K) -> u32 {
        lock(&self.failures).get(item).copied().unwrap_or(0)
    }
}

/// Per item: `fast` for the first `max_fast` failures, `slow` after.
pub struct ItemFastSlow<K> {
    fast: Duration,
    slow: Duration,
    max_fast: u32,
    failures: Mutex<HashMap<K, u32>>,
}

impl<K> ItemFastSlow<K> {
    /// `max_fast` retries after `fast`, then every retry after `slow`.
    pub fn new(fast: Duration, slow: Duration, max_fast: u32) -> Self {
        ItemFastSlow { fast, slow, max_fast, failures: Mutex::new(HashMap::new()) }
    }
}

impl<K: Eq + Hash + Clone + Send> RateLimiter<K> for ItemFastSlow<K> {
    fn when(&self, item: &K) -> Duration {
        let mut failures = lock(&self.failures);
        let count = failures.entry(item.clone()).or_insert(0);
        *count = count.saturating_add(1);
        if *count <= self.max_fast { self.fast } else { self.slow }
    }
    fn forget(&self, item: &K) {
        lock(&self.failures).remove(item);
    }
    fn num_requeues(&self, item: &K) -> u32 {
        lock(&self.failures).get(item).copied().unwrap_or(0)
    }
}

/// Over all items: a token bucket of `qps` per second holding at most `burst`. Every retry
/// takes a token, the next one free if none is left now, as client-go's `BucketRateLimiter`
/// (golang.org/x/time/rate's `Reserve`) does; it tracks no item.
///
/// Kept here rather than taken from governor: the queue needs the wait for a token taken
/// now from the future, and governor only answers whether one is free now (it serves the
/// client-side limiter, which can wait for its token).
pub struct Bucket {
    qps: f64,
    burst: f64,
    state: Mutex<BucketState>,
}

struct BucketState {
    tokens: f64,
    last: Option<Instant>,
}

impl Bucket {
    /// `qps` tokens per second, at most `burst` saved; the bucket starts full.
    pub fn new(qps: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        Bucket { qps: qps.max(f64::MIN_POSITIVE), burst, state: Mutex::new(BucketState { tokens: burst, last: None }) }
    }
}

impl<K> RateLimiter<K> for Bucket {
    fn when(&self, _: &K) -> Duration {
        let now = Instant::now();
        let mut state = lock(&self.state);
        let elapsed = state.last.map_or(0.0, |last| now.saturating_duration_since(last).as_secs_f64());
        state.tokens = (state.tokens + elapsed * self.qps).min(self.burst) - 1.0;
        state.last = Some(now);
        if state.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-state.tokens / self.qps) }
    }
    fn forget(&self, _: &K) {}
    fn num_requeues(&self, _: &K) -> u32 {
        0
    }
}

/// The longest wait any of its limiters asks for; each of them counts every failure.
pub struct MaxOf<K> {
    limiters: Vec<Box<dyn RateLimiter<K>>>,
}

impl<K> MaxOf<K> {
    /// The larger of `limiters`' answers.
    pub fn new(limiters: Vec<Box<dyn RateLimiter<K>>>) -> Self {
        MaxOf { limiters }
    }
}

impl<K> RateLimiter<K> for MaxOf<K> {
    fn when(&self, item: &K) -> Duration {
        self.limiters.iter().map(|l| l.when(item)).max().unwrap_or(Duration::ZERO)
    }
    fn forget(&self, item: &K) {
        self.limiters.iter().for_each(|l| l.forget(item));
    }
    fn num_requeues(&self, item: &K) -> u32 {
        self.limiters.iter().map(|l| l.num_requeues(item)).max().unwrap_or(0)
    }
}

/// A poisoned lock only means another thread panicked holding it; the counts stay usable.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exponential_doubles_from_base_to_max_and_forget_restarts() {
        let r = ItemExponentialFailure::new(Duration::from_millis(5), Duration::from_secs(1000));
        let delays: Vec<_> = (0..20).map(|_| r.when(&"a")).collect();
        assert_eq!(delays[0], Duration::from_millis(5));
        assert_eq!(delays[1], Duration::from_millis(10));
        assert_eq!(delays[17], Duration::from_millis(5 << 17));
        assert_eq!(delays[18], Duration::from_secs(1000), "capped");
        assert_eq!(r.num_requeues(&"a"), 20);
        assert_eq!(r.num_requeues(&"b"), 0, "per item");
        r.forget(&"a");
        assert_eq!(r.num_requeues(&"a"), 0);
        assert_eq!(r.when(&"a"), Duration::from_millis(5));
        // Far past any representable power of two, still the cap.
        for _ in 0..100 {
            r.when(&"a");
        }
        assert_eq!(r.when(&"a"), Duration::from_secs(1000));
    }

    #[test]
    fn fast_slow_switches_after_max_fast() {
        let r = ItemFastSlow::new(Duration::from_millis(1), Duration::from_secs(3), 2);
        let delays: Vec<_> = (0..4).map(|_| r.when(&1)).collect();
        assert_eq!(
            delays,
            [Duration::from_millis(1), Duration::from_millis(1), Duration::from_secs(3), Duration::from_secs(3)]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn bucket_hands_out_burst_then_one_slot_per_token() {
        let r = Bucket::new(10.0, 100);
        for _ in 0..100 {
            assert_eq!(RateLimiter::<u8>::when(&r, &0), Duration::ZERO);
        }
        // Each further retry takes the next free slot: 100 ms apart at 10 per second.
        let next: Vec<_> = (0..3).map(|_| RateLimiter::<u8>::when(&r, &0).as_millis()).collect();
        assert_eq!(next, [100, 200, 300]);
        tokio::time::advance(Duration::from_secs(1)).await;
        // A second later ten tokens came back; three were owed.
        assert_eq!(RateLimiter::<u8>::when(&r, &0).as_millis(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn default_controller_limiter_is_the_larger_of_both() {
        let r = default_controller_rate_limiter::<u32>();
        assert_eq!(r.when(&0), Duration::from_millis(5));
        assert_eq!(r.when(&0), Duration::from_millis(10));
        for i in 1..99 {
            r.when(&i);
        }
        // The bucket is empty now: a new item's first retry waits for its token (100 ms),
        // longer than its own 5 ms.
        assert_eq!(r.when(&1000), Duration::from_millis(100));
        assert_eq!(r.num_requeues(&0), 2);
    }
}
