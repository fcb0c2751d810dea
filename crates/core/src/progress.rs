//! What every training loop reports, and how a caller can stop it.
//!
//! The loops know nothing about terminals: they call a [`ProgressSink`] after every update
//! step (or every chunk of steps, for a fused step that runs thousands in one operation), and
//! the runner turns that into a Keras-style progress bar. A sink must be cheap (a step of the
//! fast loops takes a few microseconds); it should throttle its own drawing.

/// Where a training epoch is, reported after each update step or chunk of steps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// The epoch being trained, counted from 1.
    pub epoch: usize,
    /// Update steps (batches) done so far in this epoch.
    pub step: usize,
    /// Update steps this epoch will make in all.
    pub steps: usize,
    /// Training samples seen so far in this epoch.
    pub samples: usize,
    /// Training samples this epoch will see in all.
    pub total_samples: usize,
    /// Running mean of the training loss over the samples seen this epoch (Keras "MSE": mean
    /// over the 10 outputs of the squared error against the one-hot target).
    pub loss: f64,
    /// Running training accuracy over the samples seen this epoch, in [0, 1].
    pub accuracy: f64,
}

/// A sink's answer: go on, or stop the epoch after this step (for Ctrl-C).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Keep training.
    Continue,
    /// Stop after the current step; the epoch is reported as incomplete.
    Stop,
}

/// Receives [`Progress`] from a training loop after every update step.
pub trait ProgressSink {
    /// Called after every update step; return [`Control::Stop`] to end the epoch early.
    fn on_progress(&mut self, progress: &Progress) -> Control;
}

impl<F: FnMut(&Progress) -> Control> ProgressSink for F {
    fn on_progress(&mut self, progress: &Progress) -> Control {
        self(progress)
    }
}

/// A sink that ignores progress and never stops (for tests and benchmarks).
#[derive(Debug, Default, Clone, Copy)]
pub struct Silent;

impl ProgressSink for Silent {
    fn on_progress(&mut self, _progress: &Progress) -> Control {
        Control::Continue
    }
}

/// The outcome of one training epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochStats {
    /// The epoch, counted from 1.
    pub epoch: usize,
    /// Training samples actually seen (fewer than the split when stopped early).
    pub samples: usize,
    /// Mean training loss over the samples seen (Keras "MSE").
    pub loss: f64,
    /// Training accuracy over the samples seen, in [0, 1].
    pub accuracy: f64,
    /// False when a sink stopped the epoch before its end.
    pub completed: bool,
}

/// Test-set metrics of a network.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Samples evaluated.
    pub samples: usize,
    /// Mean loss (Keras "MSE": mean over the 10 outputs of the squared error).
    pub loss: f64,
    /// Fraction of samples whose arg-max output is the label, in [0, 1].
    pub accuracy: f64,
}
