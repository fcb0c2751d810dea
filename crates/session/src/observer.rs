//! Where a session reports what it does: the [`Observer`] trait and the observer that
//! reports nothing.

use std::path::Path;

use replay_core::Progress;
use replay_store::{HeaderVersion, ResultRow};

use crate::{SweepItem, TargetOutcome};

/// Where a session reports what it does; every method does nothing unless implemented.
pub trait Observer: Send {
    /// Something a person should know about how the configuration is emulated.
    fn note(&mut self, _text: &str) {}
    /// Item `position` (from 0) of the `of` items a sweep runs here starts.
    fn item_started(&mut self, _position: usize, _of: usize, _item: &SweepItem) {}
    /// The results file was upgraded from the older header `from`, carrying `rows` rows over.
    fn results_upgraded(&mut self, _path: &Path, _rows: usize, _from: HeaderVersion) {}
    /// Epoch `epoch` of `epochs` starts.
    fn epoch_started(&mut self, _epoch: usize, _epochs: usize) {}
    /// Training progressed (after every step or chunk of steps).
    fn progress(&mut self, _progress: &Progress) {}
    /// An epoch, or a span of one that ends in an evaluation, ended and its row was written.
    fn epoch_finished(&mut self, _row: &ResultRow, _epochs: usize) {}

    /// A run with a target accuracy ended (reached or not; not when interrupted): how it went,
    /// and the epochs it was allowed.
    fn target_finished(&mut self, _outcome: &TargetOutcome, _epochs: usize) {}
}

/// An observer that reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoObserver;

impl Observer for NoObserver {}
