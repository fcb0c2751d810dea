//! Both implementations behind one trait, built from one description.

use std::ops::Range;
use std::path::Path;

use burn::prelude::Device;
use replay_core::{EpochStats, Evaluation, Order, ProgressSink, StepKind};

use crate::data::{HIDDEN, Samples};
use crate::manual::{self, ManualTrainer};
use crate::mlp::ModelError;
use crate::train::Trainer;

/// A network being trained: the Burn MLP ([`Trainer`]) or the hand-written rule
/// ([`ManualTrainer`]).
pub trait Network: Send {
    /// The step it takes.
    fn step(&self) -> StepKind;

    /// Gets `samples` ready for training before any epoch's clock starts (the fused step packs
    /// the images and uploads them to the device, once); nothing for the other steps. An epoch
    /// over other samples prepares them itself.
    fn prepare(&mut self, samples: Samples<'_>) {
        let _ = samples;
    }

    /// One epoch over `samples` in `order` (shuffled from the network's seed and `epoch`,
    /// counted from 1), reporting to `sink` after every step or chunk of steps and stopping
    /// early when it says so.
    fn train_epoch(
        &mut self,
        samples: Samples<'_>,
        order: Order,
        epoch: usize,
        sink: &mut dyn ProgressSink,
    ) -> Result<EpochStats, ModelError> {
        self.train_span(samples, order, epoch, 0..samples.len(), sink)
    }

    /// Part of an epoch: the steps over positions `images` of epoch `epoch`'s order (clamped
    /// to the split). Spans that start and end on whole steps (multiples of the batch size, or
    /// the split's end) and follow one another train exactly what the whole epoch trains, so
    /// a run can stop between them to evaluate. Progress and the returned figures count from
    /// the span's start.
    fn train_span(
        &mut self,
        samples: Samples<'_>,
        order: Order,
        epoch: usize,
        images: Range<usize>,
        sink: &mut dyn ProgressSink,
    ) -> Result<EpochStats, ModelError>;

    /// Test loss (Keras "MSE") and arg-max accuracy on `samples`.
    fn evaluate(&self, samples: Samples<'_>) -> Result<Evaluation, ModelError>;

    /// Writes the weights as SafeTensors (the Burn MLP only).
    fn save_weights(&self, path: &Path) -> Result<(), ModelError>;
}

/// What to build: the step decides the implementation (`manual` is the hand-written rule, the
/// others the Burn MLP).
#[derive(Debug, Clone, Copy)]
pub struct NetworkSpec<'a> {
    /// The step to take.
    pub step: StepKind,
    /// The Burn device (required by the Burn MLP, unused by the hand-written rule).
    pub device: Option<&'a Device>,
    /// Seed of the initial weights and of shuffled orders.
    pub seed: u64,
    /// SGD learning rate.
    pub learning_rate: f64,
    /// Images per update (the hand-written rule takes 1).
    pub batch_size: usize,
    /// Hidden units of the Burn MLP (784-N-10); the hand-written rule has the study's 28.
    pub hidden_units: usize,
    /// The most cubes a GPU launch of the fused step may use (a spatial GPU share); `None`
    /// for the whole device.
    pub max_cubes: Option<u32>,
    /// Initial weights from a SafeTensors file instead of the seeded ones (Burn MLP only).
    pub init_weights: Option<&'a Path>,
}

/// Builds the network `spec` describes; an error names what does not fit (a batch size or
/// weights file for the hand-written rule, a missing device).
pub fn network(spec: &NetworkSpec<'_>) -> Result<Box<dyn Network>, ModelError> {
    match spec.step {
        StepKind::Fast | StepKind::Reference => {
            if spec.step == StepKind::Reference {
                return Err(ModelError::Unsupported(
                    "the reference hand-written rule is a test oracle; train with the fast one"
                        .into(),
                ));
            }
            if spec.init_weights.is_some() {
                return Err(ModelError::Unsupported(
                    "--init-weights and --save-weights apply to the Burn MLP only".into(),
                ));
            }
            if spec.hidden_units != HIDDEN {
                return Err(ModelError::Unsupported(format!(
                    "the hand-written rule is the study's {HIDDEN}-unit network; got {} hidden \
                     units (set run.hidden_units = {HIDDEN}, or train the Burn MLP)",
                    spec.hidden_units
                )));
            }
            if spec.batch_size != 1 {
                return Err(ModelError::Unsupported(format!(
                    "the hand-written rule trains one image at a time; got batch size {} \
                     (set run.batch_size = 1)",
                    spec.batch_size
                )));
            }
            Ok(Box::new(ManualTrainer::new(spec.seed, spec.learning_rate)))
        }
        StepKind::Fused | StepKind::Dense | StepKind::LitPixels => {
            let device = spec.device.ok_or_else(|| {
                ModelError::Unsupported("the Burn MLP needs a device".to_string())
            })?;
            let mut trainer = Trainer::with_width(
                device,
                spec.seed,
                spec.learning_rate,
                spec.batch_size,
                spec.hidden_units,
            )
            .with_step(spec.step)?
            .with_max_cubes(spec.max_cubes);
            if let Some(path) = spec.init_weights {
                trainer = trainer.with_weights(path)?;
            }
            Ok(Box::new(trainer))
        }
    }
}

impl Network for ManualTrainer {
    fn step(&self) -> StepKind {
        StepKind::Fast
    }

    fn train_span(
        &mut self,
        samples: Samples<'_>,
        order: Order,
        epoch: usize,
        images: Range<usize>,
        sink: &mut dyn ProgressSink,
    ) -> Result<EpochStats, ModelError> {
        Ok(ManualTrainer::train_span(
            self, samples, order, epoch, images, sink,
        ))
    }

    fn evaluate(&self, samples: Samples<'_>) -> Result<Evaluation, ModelError> {
        Ok(manual::evaluate(self.net(), samples))
    }

    fn save_weights(&self, _path: &Path) -> Result<(), ModelError> {
        Err(ModelError::Unsupported(
            "--save-weights applies to the Burn MLP only".into(),
        ))
    }
}

impl Network for Trainer {
    fn step(&self) -> StepKind {
        Trainer::step(self)
    }

    fn prepare(&mut self, samples: Samples<'_>) {
        Trainer::prepare(self, samples);
    }

    fn train_span(
        &mut self,
        samples: Samples<'_>,
        order: Order,
        epoch: usize,
        images: Range<usize>,
        sink: &mut dyn ProgressSink,
    ) -> Result<EpochStats, ModelError> {
        Trainer::train_span(self, samples, order, epoch, images, sink)
    }

    fn evaluate(&self, samples: Samples<'_>) -> Result<Evaluation, ModelError> {
        Trainer::evaluate(self, samples)
    }

    fn save_weights(&self, path: &Path) -> Result<(), ModelError> {
        self.model()?.save_safetensors(path)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn spec(step: StepKind) -> NetworkSpec<'static> {
        NetworkSpec {
            step,
            device: None,
            seed: 1,
            learning_rate: 0.1,
            batch_size: 1,
            hidden_units: HIDDEN,
            max_cubes: None,
            init_weights: None,
        }
    }

    #[test]
    fn the_hand_written_rule_refuses_what_it_cannot_do() {
        assert_eq!(
            network(&spec(StepKind::Fast)).unwrap().step(),
            StepKind::Fast
        );
        let batch = NetworkSpec {
            batch_size: 3,
            ..spec(StepKind::Fast)
        };
        let err = network(&batch).err().unwrap().to_string();
        assert!(
            err.contains("one image at a time; got batch size 3"),
            "{err}"
        );
        let wide = NetworkSpec {
            hidden_units: 512,
            ..spec(StepKind::Fast)
        };
        let err = network(&wide).err().unwrap().to_string();
        assert!(err.contains("study's 28-unit network; got 512"), "{err}");
        let weights = NetworkSpec {
            init_weights: Some(Path::new("w.safetensors")),
            ..spec(StepKind::Fast)
        };
        assert!(network(&weights).is_err());
        let err = network(&spec(StepKind::Fused)).err().unwrap().to_string();
        assert!(err.contains("needs a device"), "{err}");
    }
}
