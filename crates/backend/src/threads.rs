//! Running work on exactly N CPU threads.
//!
//! Burn's flex and ndarray backends parallelise through rayon and take their threads from
//! the current rayon pool (Burn has no API for a thread count), so running the training inside
//! [`ThreadPool::install`] pins them to the pool's size. A request above the host's cores is
//! capped to the host's cores; both numbers are kept for the record.

use crate::host::host_cores;

/// A rayon pool of an exact size.
#[derive(Debug)]
pub struct ThreadPool {
    pool: rayon::ThreadPool,
    requested: usize,
    used: usize,
}

impl ThreadPool {
    /// A pool of `min(requested, host cores)` threads (`requested` 0 is treated as 1).
    pub fn new(requested: usize) -> Result<Self, rayon::ThreadPoolBuildError> {
        Self::with_host_cores(requested, host_cores())
    }

    /// As [`ThreadPool::new`] with the host's core count given (for tests).
    pub fn with_host_cores(
        requested: usize,
        host: usize,
    ) -> Result<Self, rayon::ThreadPoolBuildError> {
        let requested = requested.max(1);
        let used = requested.min(host.max(1));
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(used)
            .thread_name(|i| format!("replay-worker-{i}"))
            .build()?;
        Ok(Self {
            pool,
            requested,
            used,
        })
    }

    /// A pool of one thread for work that runs on one (a sequential training step), keeping
    /// `requested` for the record.
    pub fn sequential(requested: usize) -> Result<Self, rayon::ThreadPoolBuildError> {
        let mut pool = Self::with_host_cores(1, 1)?;
        pool.requested = requested.max(1);
        Ok(pool)
    }

    /// Threads asked for (the configuration's vCPUs, or a flag).
    pub fn requested(&self) -> usize {
        self.requested
    }

    /// Threads actually in the pool.
    pub fn used(&self) -> usize {
        self.used
    }

    /// Runs `work` inside the pool: rayon calls made by it (and by Burn's CPU backends) use
    /// the pool's threads.
    pub fn install<R: Send>(&self, work: impl FnOnce() -> R + Send) -> R {
        self.pool.install(work)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pools_are_capped_by_the_host_and_record_both_numbers() {
        let pool = ThreadPool::with_host_cores(32, 2).unwrap();
        assert_eq!((pool.requested(), pool.used()), (32, 2));
        let pool = ThreadPool::with_host_cores(1, 2).unwrap();
        assert_eq!((pool.requested(), pool.used()), (1, 1));
        assert_eq!(pool.install(rayon::current_num_threads), 1);
        let pool = ThreadPool::with_host_cores(0, 8).unwrap();
        assert_eq!(pool.used(), 1);
        let pool = ThreadPool::sequential(32).unwrap();
        assert_eq!((pool.requested(), pool.used()), (32, 1));
        assert_eq!(pool.install(rayon::current_num_threads), 1);
    }
}
