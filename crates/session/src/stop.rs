//! Stopping a run on request (Ctrl-C): what was going on when the request came decides what is
//! written.

use std::sync::atomic::{AtomicU8, Ordering};

/// Nothing is training (a run is loading its dataset, opening its device, or between two runs).
const PREPARING: u8 = 0;
/// A run is training.
const TRAINING: u8 = 1;
/// A stop was requested while nothing was training.
const STOPPED_BEFORE: u8 = 2;
/// A stop was requested while a run was training.
const STOPPED_DURING: u8 = 3;

/// A request to stop, shared between a signal handler and the runs it stops.
///
/// A run polls it after every step (or chunk of steps) of training and stops there, writing the
/// partial epoch as an `interrupted` row. A request that comes before training starts (the
/// dataset still loading, the device opening, between two items of a sweep or two repeats)
/// stops before the first step: nothing is trained and no row is written.
///
/// ```
/// use replay_session::{StopRequest, StopSignal};
///
/// static STOP: StopSignal = StopSignal::new();
/// assert!(!STOP.is_requested());
/// assert_eq!(STOP.request(), StopRequest::BeforeTraining);
/// assert_eq!(STOP.request(), StopRequest::Again);
/// assert!(STOP.is_requested());
/// ```
#[derive(Debug, Default)]
pub struct StopSignal {
    state: AtomicU8,
}

/// What was going on when a stop was requested ([`StopSignal::request`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopRequest {
    /// Nothing was training: the run stops before its first step and writes nothing.
    BeforeTraining,
    /// A run was training: it stops after the current step and writes the partial epoch.
    DuringTraining,
    /// A stop had been requested before.
    Again,
}

impl StopSignal {
    /// A signal with no stop requested.
    pub const fn new() -> Self {
        Self {
            state: AtomicU8::new(PREPARING),
        }
    }

    /// Asks the runs to stop, and says what was going on (safe to call from a signal
    /// handler's thread: one atomic operation, no allocation).
    pub fn request(&self) -> StopRequest {
        let mut current = self.state.load(Ordering::SeqCst);
        loop {
            let (next, answer) = match current {
                PREPARING => (STOPPED_BEFORE, StopRequest::BeforeTraining),
                TRAINING => (STOPPED_DURING, StopRequest::DuringTraining),
                _ => return StopRequest::Again,
            };
            match self
                .state
                .compare_exchange(current, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return answer,
                Err(actual) => current = actual,
            }
        }
    }

    /// Whether a stop was requested.
    pub fn is_requested(&self) -> bool {
        self.state.load(Ordering::SeqCst) >= STOPPED_BEFORE
    }

    /// Marks training as started until the returned guard is dropped; `None` (and no training)
    /// when a stop was requested first.
    pub(crate) fn start_training(&self) -> Option<Training<'_>> {
        match self
            .state
            .compare_exchange(PREPARING, TRAINING, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) | Err(TRAINING) => Some(Training { signal: self }),
            Err(_) => None,
        }
    }
}

/// Training under way; dropping it marks training as ended (a stop requested meanwhile stays
/// requested).
#[derive(Debug)]
pub(crate) struct Training<'a> {
    signal: &'a StopSignal,
}

impl Drop for Training<'_> {
    fn drop(&mut self) {
        let _ = self.signal.state.compare_exchange(
            TRAINING,
            PREPARING,
            Ordering::SeqCst,
            Ordering::SeqCst,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_before_training_prevents_it() {
        let stop = StopSignal::new();
        assert_eq!(stop.request(), StopRequest::BeforeTraining);
        assert!(stop.start_training().is_none());
        assert!(stop.is_requested());
    }

    #[test]
    fn a_stop_during_training_is_seen_by_it_and_by_every_later_run() {
        let stop = StopSignal::new();
        let training = stop.start_training();
        assert!(training.is_some());
        assert!(!stop.is_requested());
        assert_eq!(stop.request(), StopRequest::DuringTraining);
        assert!(stop.is_requested());
        drop(training);
        assert!(stop.is_requested(), "ending training keeps the request");
        assert!(
            stop.start_training().is_none(),
            "the next run does not start"
        );
        assert_eq!(stop.request(), StopRequest::Again);
    }

    #[test]
    fn between_two_runs_nothing_is_training() {
        let stop = StopSignal::new();
        drop(stop.start_training());
        assert_eq!(stop.request(), StopRequest::BeforeTraining);
    }
}
