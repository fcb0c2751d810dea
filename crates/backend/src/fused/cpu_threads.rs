//! How many threads the fused CPU step uses: known before a run starts, so that the
//! emulation can size its thread pool and the results say what was used.

/// The smallest amount of work (images x hidden units per step) worth sharing between
/// threads: below it, handing the work out costs more than it saves.
const PARALLEL_WORK: usize = 8192;

/// The threads the fused CPU step uses for steps of `batch` images through `hidden` units
/// when `available` are offered: all of them where a step has enough work to share, else 1.
pub fn threads_for(batch: usize, hidden: usize, available: usize) -> usize {
    if batch >= 2 && batch.saturating_mul(hidden) >= PARALLEL_WORK {
        available.max(1)
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_is_shared_only_where_a_step_has_enough() {
        assert_eq!(threads_for(1, 4096, 8), 1);
        assert_eq!(threads_for(32, 28, 8), 1);
        assert_eq!(threads_for(256, 512, 2), 2);
        assert_eq!(threads_for(256, 512, 0), 1);
    }
}
