//! The one epoch loop every trainer here shares, and the scoring of outputs against labels
//! that both the loop and the evaluations use.

use replay_core::{Control, EpochStats, Evaluation, Progress, ProgressSink};

use crate::data::OUTPUTS;

/// Loss and correct predictions summed over samples.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Score {
    /// Samples scored.
    pub samples: usize,
    /// The sum over samples of each one's loss (Keras "MSE": the mean over the 10 outputs of
    /// the squared error against the one-hot target).
    pub loss_sum: f64,
    /// Samples whose arg-max output (the first on ties) is the label.
    pub correct: usize,
}

impl Score {
    /// The score of one sample's 10 outputs against its label.
    pub fn of<T: Copy + Into<f64>>(outputs: &[T], label: usize) -> Score {
        let mut best = 0;
        let mut best_value = f64::NEG_INFINITY;
        let mut squared = 0.0;
        for (j, &y) in outputs.iter().take(OUTPUTS).enumerate() {
            let y: f64 = y.into();
            let t = if j == label { 1.0 } else { 0.0 };
            squared += (y - t) * (y - t);
            if y > best_value {
                best = j;
                best_value = y;
            }
        }
        Score {
            samples: 1,
            loss_sum: squared / OUTPUTS as f64,
            correct: usize::from(best == label),
        }
    }

    /// The scores of a batch's outputs, `[labels.len(), 10]` row-major.
    pub fn of_batch<T: Copy + Into<f64>>(
        outputs: &[T],
        labels: impl IntoIterator<Item = usize>,
    ) -> Score {
        labels
            .into_iter()
            .zip(outputs.chunks_exact(OUTPUTS))
            .fold(Score::default(), |sum, (label, row)| {
                sum + Score::of(row, label)
            })
    }

    /// The mean loss per sample (0 when there are none).
    pub fn loss(&self) -> f64 {
        if self.samples == 0 {
            0.0
        } else {
            self.loss_sum / self.samples as f64
        }
    }

    /// The fraction of samples predicted right (0 when there are none).
    pub fn accuracy(&self) -> f64 {
        if self.samples == 0 {
            0.0
        } else {
            self.correct as f64 / self.samples as f64
        }
    }

    /// The score as a test-set evaluation.
    pub fn evaluation(&self) -> Evaluation {
        Evaluation {
            samples: self.samples,
            loss: self.loss(),
            accuracy: self.accuracy(),
        }
    }
}

impl std::ops::Add for Score {
    type Output = Score;

    fn add(self, other: Score) -> Score {
        Score {
            samples: self.samples + other.samples,
            loss_sum: self.loss_sum + other.loss_sum,
            correct: self.correct + other.correct,
        }
    }
}

/// One epoch: visits `indices` in chunks of `steps_per_chunk` steps of `batch_size` samples,
/// calls `train(first_step, chunk)` on each chunk (it takes the chunk's SGD steps in order,
/// `first_step` counted from 0 in the epoch, and scores each sample's forward-pass outputs),
/// and reports the running loss and accuracy to `sink` after every chunk, until the indices
/// end or the sink says stop.
pub(crate) fn run_epoch<E>(
    indices: &[usize],
    batch_size: usize,
    steps_per_chunk: usize,
    epoch: usize,
    sink: &mut dyn ProgressSink,
    mut train: impl FnMut(usize, &[usize]) -> Result<Score, E>,
) -> Result<EpochStats, E> {
    let batch_size = batch_size.max(1);
    let total = indices.len();
    let steps = total.div_ceil(batch_size);
    let mut score = Score::default();
    let mut step = 0;
    let mut completed = true;
    for chunk in indices.chunks(batch_size * steps_per_chunk.max(1)) {
        score = score + train(step, chunk)?;
        step += chunk.len().div_ceil(batch_size);
        let progress = Progress {
            epoch,
            step,
            steps,
            samples: score.samples,
            total_samples: total,
            loss: score.loss(),
            accuracy: score.accuracy(),
        };
        if sink.on_progress(&progress) == Control::Stop {
            completed = score.samples == total;
            break;
        }
    }
    Ok(EpochStats {
        epoch,
        samples: score.samples,
        loss: score.loss(),
        accuracy: score.accuracy(),
        completed,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_score_is_the_keras_mse_and_the_first_arg_max() {
        let outputs = [0.5f32, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let hit = Score::of(&outputs, 0);
        assert_eq!((hit.samples, hit.correct), (1, 1), "ties go to the first");
        assert!((hit.loss_sum - (0.25 + 0.25) / 10.0).abs() < 1e-12);
        let miss = Score::of(&outputs, 1);
        assert_eq!(miss.correct, 0);
        let both = Score::of_batch(&[outputs, outputs].concat(), [0, 1]);
        assert_eq!((both.samples, both.correct), (2, 1));
        assert_eq!(both.evaluation().accuracy, 0.5);
        assert_eq!(Score::default().evaluation().loss, 0.0);
    }

    #[test]
    fn the_loop_reports_after_every_chunk_and_stops_when_told() {
        let indices: Vec<usize> = (0..10).collect();
        let mut seen = Vec::new();
        let mut reports = Vec::new();
        let mut sink = |p: &Progress| {
            reports.push((p.step, p.samples));
            if p.samples >= 8 {
                Control::Stop
            } else {
                Control::Continue
            }
        };
        let stats = run_epoch::<()>(&indices, 2, 2, 3, &mut sink, |first, chunk| {
            assert_eq!(first * 2, seen.len());
            seen.extend_from_slice(chunk);
            Ok(Score {
                samples: chunk.len(),
                loss_sum: 0.1 * chunk.len() as f64,
                correct: 1,
            })
        })
        .unwrap();
        assert_eq!(reports, [(2, 4), (4, 8)]);
        assert_eq!(seen, (0..8).collect::<Vec<_>>());
        assert_eq!((stats.epoch, stats.samples, stats.completed), (3, 8, false));
        assert!((stats.loss - 0.1).abs() < 1e-12 && (stats.accuracy - 0.25).abs() < 1e-12);
        let stats = run_epoch::<()>(
            &indices,
            3,
            1,
            1,
            &mut |_: &Progress| Control::Stop,
            |_, c| {
                Ok(Score {
                    samples: c.len(),
                    ..Score::default()
                })
            },
        )
        .unwrap();
        assert_eq!((stats.samples, stats.completed), (3, false));
    }
}
