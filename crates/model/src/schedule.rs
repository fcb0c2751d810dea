//! When a run evaluates on the test set: at the end of every epoch, and, with an interval,
//! after the step that carries the images trained so far past each multiple of it.

use std::ops::Range;

/// Where a run's evaluations fall: the spans of training between them, epoch by epoch.
///
/// With an interval of `every` images, a run evaluates after the step during which the images
/// trained since the run began reach a multiple of `every` (a step is never split, so with
/// batches an evaluation may come up to a batch late), and at the end of every epoch; two
/// multiples in one step give one evaluation. Without one, it evaluates at epochs' ends only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalSchedule {
    every: Option<usize>,
    batch_size: usize,
    epoch_images: usize,
}

impl EvalSchedule {
    /// The schedule of a run over `epoch_images` training images a epoch, in steps of
    /// `batch_size` (at least 1), evaluating every `every` images (`None`: once per epoch; 0
    /// counts as `None`).
    pub fn new(every: Option<usize>, batch_size: usize, epoch_images: usize) -> Self {
        EvalSchedule {
            every: every.filter(|&n| n > 0),
            batch_size: batch_size.max(1),
            epoch_images,
        }
    }

    /// The spans of epoch `epoch` (from 1), as positions in the epoch's order: consecutive,
    /// covering the epoch, each ending on a whole step or the epoch's end, where an evaluation
    /// follows. Earlier epochs are taken as whole.
    pub fn spans(&self, epoch: usize) -> Vec<Range<usize>> {
        let n = self.epoch_images;
        let mut ends = Vec::new();
        if let Some(every) = self.every {
            let before = epoch.saturating_sub(1) * n;
            // The first multiple of `every` past the images trained before this epoch.
            let mut threshold = (before / every + 1) * every;
            while threshold < before + n {
                let at = (threshold - before).div_ceil(self.batch_size) * self.batch_size;
                if at >= n {
                    break;
                }
                ends.push(at);
                // The next multiple past the step's end.
                threshold = ((before + at) / every + 1) * every;
            }
        }
        ends.push(n);
        let mut start = 0;
        ends.into_iter()
            .map(|end| {
                let span = start..end;
                start = end;
                span
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The spans of an epoch that is one span, `0..n`.
    fn whole(n: usize) -> Vec<Range<usize>> {
        let all = 0..n;
        vec![all]
    }

    #[test]
    fn without_an_interval_an_epoch_is_one_span() {
        let s = EvalSchedule::new(None, 32, 1000);
        assert_eq!(s.spans(1), whole(1000));
        assert_eq!(s.spans(7), whole(1000));
        assert_eq!(EvalSchedule::new(Some(0), 1, 10).spans(1), whole(10));
    }

    #[test]
    fn evaluations_follow_the_step_that_reaches_each_multiple() {
        // Batch 1: exactly at the multiples.
        let s = EvalSchedule::new(Some(250), 1, 1000);
        assert_eq!(s.spans(1), [0..250, 250..500, 500..750, 750..1000]);
        // Batch 32: after the step that passes 250 (256), 500 (512), 750 (768).
        let s = EvalSchedule::new(Some(250), 32, 1000);
        assert_eq!(s.spans(1), [0..256, 256..512, 512..768, 768..1000]);
        // Multiples carry over epochs: 1000 images an epoch, every 600: 600, 1200, 1800.
        let s = EvalSchedule::new(Some(600), 1, 1000);
        assert_eq!(s.spans(1), [0..600, 600..1000]);
        assert_eq!(s.spans(2), [0..200, 200..800, 800..1000]);
        // An interval longer than the epoch: only epochs' ends, and the multiple inside.
        let s = EvalSchedule::new(Some(1500), 1, 1000);
        assert_eq!(s.spans(1), whole(1000));
        assert_eq!(s.spans(2), [0..500, 500..1000]);
        // Two multiples in one step give one evaluation.
        let s = EvalSchedule::new(Some(10), 64, 200);
        assert_eq!(s.spans(1), [0..64, 64..128, 128..192, 192..200]);
    }

    #[test]
    fn spans_cover_the_epoch_in_order() {
        for (every, batch, n) in [(7, 3, 100), (6000, 32, 60000), (1, 5, 23), (13, 13, 13)] {
            let s = EvalSchedule::new(Some(every), batch, n);
            for epoch in 1..4 {
                let spans = s.spans(epoch);
                assert_eq!(spans.first().map(|r| r.start), Some(0));
                assert_eq!(spans.last().map(|r| r.end), Some(n));
                for pair in spans.windows(2) {
                    assert_eq!(pair[0].end, pair[1].start);
                    assert!(pair[0].end.is_multiple_of(batch) && pair[0].end > pair[0].start);
                }
            }
        }
    }
}
