//! One training run to a target accuracy, and many at once on the host's cores.
//!
//! Time to accuracy is measured here in training images, not seconds: the run trains the
//! fused step (the same numbers on every backend) on the fastest backend compiled in, and
//! evaluates the whole test split at a fixed interval of images and at every epoch's end
//! ([`EvalSchedule`]), stopping at the first evaluation at or above the target.

use std::time::Instant;

use replay_backend::{BackendKind, Device};
use replay_core::{Control, Order, Progress, StepKind};
use replay_model::{EvalSchedule, NetworkSpec, Samples, network};

use crate::error::TuneError;

mod pool;

pub use pool::{Job, run_parallel};

/// The CPU backends first: for this tiny network a run on one core of flex beats a GPU
/// launch per chunk, and runs go in parallel, one per core.
const PREFERENCE: [BackendKind; 3] = [BackendKind::Flex, BackendKind::Ndarray, BackendKind::Wgpu];

/// The fastest backend compiled into this program, opened: flex, else ndarray, else wgpu.
pub fn open_fastest() -> Result<(Device, BackendKind), TuneError> {
    let kind = PREFERENCE
        .into_iter()
        .find(|&kind| replay_backend::is_compiled(kind))
        .ok_or(TuneError::NoBackend)?;
    let (device, _) = replay_backend::open(kind)?;
    Ok((device, kind))
}

/// A run is abandoned as hopeless when after this many epochs...
pub const HOPELESS_AFTER_EPOCHS: u32 = 2;
/// ...no evaluation has found a test accuracy above this fraction (twice chance for ten
/// classes): a rate that diverged sits at chance for good. Not applied to targets at or below
/// it.
pub const HOPELESS_BELOW: f64 = 0.2;

/// Whether a run that has trained `epochs_run` epochs with a best accuracy of `best_accuracy`
/// and not reached `target_accuracy` is hopeless, and ends there as a miss.
pub fn hopeless(epochs_run: u32, best_accuracy: f64, target_accuracy: f64) -> bool {
    epochs_run >= HOPELESS_AFTER_EPOCHS
        && best_accuracy < HOPELESS_BELOW
        && target_accuracy > HOPELESS_BELOW
}

/// The training and test images a run sees.
#[derive(Debug, Clone, Copy)]
pub struct Data<'a> {
    /// The training split (all of an epoch).
    pub train: Samples<'a>,
    /// The test split, evaluated whole.
    pub test: Samples<'a>,
}

/// One run: a seed of a (batch size, learning rate) pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunSpec {
    /// Hidden units of the 784-N-10 network.
    pub hidden_units: usize,
    /// Images per SGD update.
    pub batch_size: usize,
    /// The SGD learning rate.
    pub learning_rate: f64,
    /// Seed of the initial weights and the shuffles.
    pub seed: u64,
    /// The most epochs to train.
    pub epochs: u32,
    /// The test accuracy to reach, a fraction in (0, 1).
    pub target_accuracy: f64,
    /// Training images between evaluations, at least 1 (every epoch's end is evaluated too).
    pub eval_every: usize,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunOutcome {
    /// Training images seen at the first evaluation at or above the target; `None` when no
    /// evaluation reached it within the epochs.
    pub images_to_target: Option<u64>,
    /// Epochs begun: the one that reached the target, else all, or those after which the run
    /// was found [`hopeless`].
    pub epochs_run: u32,
    /// The best test accuracy of any evaluation, a fraction.
    pub best_accuracy: f64,
}

/// Trains one run until an evaluation reaches the target, the epochs run out, or the run is
/// [`hopeless`] (a miss either way). Returns `None` when `stop` said so (checked after every
/// step and evaluation; nothing is kept).
pub fn train_to_target(
    device: &Device,
    data: Data<'_>,
    spec: &RunSpec,
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Option<RunOutcome>, TuneError> {
    let mut net = network(&NetworkSpec {
        step: StepKind::Fused,
        device: Some(device),
        seed: spec.seed,
        learning_rate: spec.learning_rate,
        batch_size: spec.batch_size,
        hidden_units: spec.hidden_units,
        max_cubes: None,
        init_weights: None,
    })?;
    net.prepare(data.train);
    let images = data.train.len();
    let schedule = EvalSchedule::new(Some(spec.eval_every), spec.batch_size, images);
    let mut sink = |_: &Progress| {
        if stop() {
            Control::Stop
        } else {
            Control::Continue
        }
    };
    let mut best: f64 = 0.0;
    for epoch in 1..=spec.epochs {
        let before = u64::from(epoch - 1) * images as u64;
        for span in schedule.spans(epoch as usize) {
            let end = span.end;
            net.train_span(data.train, Order::Shuffled, epoch as usize, span, &mut sink)?;
            if stop() {
                return Ok(None);
            }
            let accuracy = net.evaluate(data.test)?.accuracy;
            best = best.max(accuracy);
            if accuracy >= spec.target_accuracy {
                return Ok(Some(RunOutcome {
                    images_to_target: Some(before + end as u64),
                    epochs_run: epoch,
                    best_accuracy: best,
                }));
            }
        }
        if epoch < spec.epochs && hopeless(epoch, best, spec.target_accuracy) {
            return Ok(Some(RunOutcome {
                images_to_target: None,
                epochs_run: epoch,
                best_accuracy: best,
            }));
        }
    }
    Ok(Some(RunOutcome {
        images_to_target: None,
        epochs_run: spec.epochs,
        best_accuracy: best,
    }))
}

/// How fast this host trains and evaluates one run, on one core.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Speed {
    /// Seconds per training image at the batch size measured.
    pub train_s_per_image: f64,
    /// Seconds per evaluation of the whole test split.
    pub eval_s: f64,
}

impl Speed {
    /// Seconds of one epoch of `epoch_images` with an evaluation every `eval_every` images.
    pub fn epoch_s(&self, epoch_images: usize, eval_every: usize) -> f64 {
        let evaluations = epoch_images.div_ceil(eval_every.max(1));
        epoch_images as f64 * self.train_s_per_image + evaluations as f64 * self.eval_s
    }
}

/// Measures [`Speed`] at `batch_size` on the calling thread: up to `images` training images
/// (whole steps) and one evaluation, timed after a short warm-up.
pub fn measure_speed(
    device: &Device,
    data: Data<'_>,
    hidden_units: usize,
    batch_size: usize,
    images: usize,
) -> Result<Speed, TuneError> {
    let mut net = network(&NetworkSpec {
        step: StepKind::Fused,
        device: Some(device),
        seed: 1,
        learning_rate: 0.1,
        batch_size,
        hidden_units,
        max_cubes: None,
        init_weights: None,
    })?;
    net.prepare(data.train);
    let n = data.train.len();
    let steps = (images.min(n) / batch_size.max(1)).max(1);
    let end = (steps * batch_size).min(n);
    let mut silent = replay_core::Silent;
    // Warm-up: the first step and evaluation allocate.
    net.train_span(
        data.train,
        Order::Shuffled,
        1,
        0..batch_size.min(n),
        &mut silent,
    )?;
    net.evaluate(data.test)?;
    let started = Instant::now();
    net.train_span(
        data.train,
        Order::Shuffled,
        1,
        batch_size.min(n)..end,
        &mut silent,
    )?;
    let trained = end.saturating_sub(batch_size.min(n)).max(1);
    let train_s_per_image = started.elapsed().as_secs_f64() / trained as f64;
    let started = Instant::now();
    net.evaluate(data.test)?;
    Ok(Speed {
        train_s_per_image,
        eval_s: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use replay_core::Dataset;
    use replay_mnist::testutil::synthetic_split;

    #[test]
    fn a_run_stops_at_the_first_evaluation_that_reaches_the_target() {
        let train = synthetic_split(Dataset::Mnist, 200, true);
        let test = synthetic_split(Dataset::Mnist, 100, true);
        let data = Data {
            train: Samples::new(train.pixels(), train.labels()).unwrap(),
            test: Samples::new(test.pixels(), test.labels()).unwrap(),
        };
        let (device, _) = open_fastest().unwrap();
        let spec = RunSpec {
            hidden_units: 16,
            batch_size: 4,
            learning_rate: 3.2,
            seed: 1,
            epochs: 10,
            target_accuracy: 0.9,
            eval_every: 50,
        };
        let outcome = train_to_target(&device, data, &spec, &|| false)
            .unwrap()
            .unwrap();
        let images = outcome.images_to_target.unwrap();
        assert!(outcome.best_accuracy >= 0.9, "{outcome:?}");
        // Evaluations fall after the step reaching each multiple of 50 (52, 100, 152, 200).
        assert!(matches!(images % 200, 0 | 52 | 100 | 152), "{images}");
        assert_eq!(u64::from(outcome.epochs_run), images.div_ceil(200));
        // The same run again gives the same numbers.
        let again = train_to_target(&device, data, &spec, &|| false).unwrap();
        assert_eq!(again, Some(outcome));
        // Out of reach: every epoch runs.
        let hard = RunSpec {
            target_accuracy: 0.999_9,
            learning_rate: 1e-4,
            epochs: 2,
            ..spec
        };
        let missed = train_to_target(&device, data, &hard, &|| false)
            .unwrap()
            .unwrap();
        assert_eq!((missed.images_to_target, missed.epochs_run), (None, 2));
        // A rate that diverges is abandoned after two epochs at chance.
        let diverging = RunSpec {
            learning_rate: 1e4,
            epochs: 10,
            ..spec
        };
        let abandoned = train_to_target(&device, data, &diverging, &|| false)
            .unwrap()
            .unwrap();
        assert_eq!(
            (abandoned.images_to_target, abandoned.epochs_run),
            (None, 2)
        );
        assert!(hopeless(2, abandoned.best_accuracy, 0.9), "{abandoned:?}");
        assert!(!hopeless(1, 0.1, 0.9) && !hopeless(2, 0.25, 0.9) && !hopeless(2, 0.1, 0.15));
        assert_eq!(
            train_to_target(&device, data, &spec, &|| true).unwrap(),
            None
        );
        let speed = measure_speed(&device, data, 16, 4, 100).unwrap();
        assert!(speed.train_s_per_image > 0.0 && speed.eval_s > 0.0);
        assert!(speed.epoch_s(200, 50) > 0.0);
    }
}
