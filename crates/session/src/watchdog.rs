//! A watchdog for a device that stops making progress: a kernel that never returns, or a
//! deadlock inside the GPU runtime (CubeCL's autotune once deadlocked on a cold store, with
//! every thread asleep). Training reports progress at least once per chunk of steps; when no
//! report comes for the set time, the watchdog calls its handler from its own thread (the
//! training thread being the one that is stuck), which for the runner prints one line and
//! ends the process.
//!
//! [`Watched`] wraps an [`Observer`] so that every report the session makes is a heartbeat;
//! the watchdog is armed by the first epoch that starts, so loading a dataset or opening a
//! device is never timed.

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use replay_core::Progress;
use replay_store::{HeaderVersion, ResultRow};

use crate::{Observer, SweepItem, TargetOutcome};

/// What the watchdog saw: how long the device went without progress, and in which epoch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stall {
    /// The time since the last progress report.
    pub silent_for: Duration,
    /// The epoch that was running (1-based), if one had started.
    pub epoch: Option<usize>,
}

impl std::fmt::Display for Stall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the device made no progress for {}",
            humantime::format_duration(Duration::from_secs(self.silent_for.as_secs()))
        )?;
        if let Some(epoch) = self.epoch {
            write!(f, " in epoch {epoch}")?;
        }
        write!(
            f,
            " (a kernel that never returned, or a deadlock in the GPU runtime)"
        )
    }
}

/// What the watchdog does on a stall, on its own thread.
pub type StallHandler = Box<dyn FnOnce(Stall) + Send>;

/// The state the training thread and the watchdog's thread share.
struct State {
    /// Whether a stall counts (from the first epoch's start).
    armed: bool,
    /// The last progress report.
    last: Instant,
    /// The epoch running, if any.
    epoch: Option<usize>,
    /// Set when the watchdog is dropped: its thread ends.
    done: bool,
}

/// The watchdog and the heartbeat it listens to.
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock leaves plain data behind: keep using it.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Calls a handler when the heartbeat stops for longer than a set time; see the module's
/// documentation.
pub struct Watchdog {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    /// Starts a watchdog that calls `on_stall` once, from its own thread, when armed and
    /// without a heartbeat for `limit`; a `limit` of zero watches nothing.
    pub fn start(limit: Duration, on_stall: StallHandler) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                armed: false,
                last: Instant::now(),
                epoch: None,
                done: false,
            }),
            wake: Condvar::new(),
        });
        let watched = Arc::clone(&shared);
        let thread = (!limit.is_zero())
            .then(|| {
                std::thread::Builder::new()
                    .name("watchdog".into())
                    .spawn(move || watch(&watched, limit, on_stall))
                    .ok()
            })
            .flatten();
        Self { shared, thread }
    }

    /// A heartbeat: the device made progress.
    pub fn beat(&self) {
        self.shared.lock().last = Instant::now();
    }

    /// Arms the watchdog (if it was not) for `epoch`, with a heartbeat.
    pub fn epoch_started(&self, epoch: usize) {
        let mut state = self.shared.lock();
        state.armed = true;
        state.epoch = Some(epoch);
        state.last = Instant::now();
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.shared.lock().done = true;
        self.shared.wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The watchdog's thread: wakes at least four times per `limit` and calls `on_stall` at the
/// first armed silence of `limit` or more.
fn watch(shared: &Shared, limit: Duration, on_stall: StallHandler) {
    let mut state = shared.lock();
    loop {
        if state.done {
            return;
        }
        let silent_for = state.last.elapsed();
        if state.armed && silent_for >= limit {
            let stall = Stall {
                silent_for,
                epoch: state.epoch,
            };
            // The lock stays held: the training thread, should it wake, waits here rather
            // than carry on while the handler reports the stall.
            on_stall(stall);
            return;
        }
        let wait = (limit / 4).max(Duration::from_millis(10));
        state = match shared.wake.wait_timeout(state, wait) {
            Ok((state, _)) => state,
            Err(poisoned) => poisoned.into_inner().0,
        };
    }
}

/// An [`Observer`] whose every report is also a heartbeat of a [`Watchdog`].
pub struct Watched<'a> {
    /// The observer the reports go on to.
    pub inner: &'a mut dyn Observer,
    /// The watchdog they feed.
    pub watchdog: &'a Watchdog,
}

impl Observer for Watched<'_> {
    fn note(&mut self, text: &str) {
        self.watchdog.beat();
        self.inner.note(text);
    }

    fn item_started(&mut self, position: usize, of: usize, item: &SweepItem) {
        self.watchdog.beat();
        self.inner.item_started(position, of, item);
    }

    fn results_upgraded(&mut self, path: &Path, rows: usize, from: HeaderVersion) {
        self.watchdog.beat();
        self.inner.results_upgraded(path, rows, from);
    }

    fn epoch_started(&mut self, epoch: usize, epochs: usize) {
        self.watchdog.epoch_started(epoch);
        self.inner.epoch_started(epoch, epochs);
    }

    fn progress(&mut self, progress: &Progress) {
        self.watchdog.beat();
        self.inner.progress(progress);
    }

    fn epoch_finished(&mut self, row: &ResultRow, epochs: usize) {
        self.watchdog.beat();
        self.inner.epoch_finished(row, epochs);
    }

    fn target_finished(&mut self, outcome: &TargetOutcome, epochs: usize) {
        self.watchdog.beat();
        self.inner.target_finished(outcome, epochs);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    #[test]
    fn a_silent_armed_device_is_reported_once_with_its_epoch() {
        let (tx, rx) = mpsc::channel();
        let dog = Watchdog::start(
            Duration::from_millis(100),
            Box::new(move |stall| {
                let _ = tx.send(stall);
            }),
        );
        dog.epoch_started(3);
        let stall = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the stall is reported");
        assert_eq!(stall.epoch, Some(3));
        assert!(stall.silent_for >= Duration::from_millis(100));
        let line = stall.to_string();
        assert!(
            line.contains("no progress") && line.contains("epoch 3"),
            "{line}"
        );
        assert!(!line.contains('\n'));
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err(), "once");
    }

    #[test]
    fn heartbeats_keep_it_quiet_and_an_unarmed_one_never_fires() {
        let (tx, rx) = mpsc::channel();
        let dog = Watchdog::start(
            Duration::from_millis(200),
            Box::new(move |stall| {
                let _ = tx.send(stall);
            }),
        );
        // Not armed: loading data, opening a device.
        std::thread::sleep(Duration::from_millis(400));
        dog.epoch_started(1);
        for _ in 0..8 {
            std::thread::sleep(Duration::from_millis(50));
            dog.beat();
        }
        drop(dog);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn the_watched_observer_beats_on_progress() {
        struct Count(usize);
        impl Observer for Count {
            fn epoch_started(&mut self, _epoch: usize, _epochs: usize) {
                self.0 += 1;
            }
        }
        let (tx, rx) = mpsc::channel();
        let dog = Watchdog::start(
            Duration::from_millis(150),
            Box::new(move |stall| {
                let _ = tx.send(stall);
            }),
        );
        let mut inner = Count(0);
        let mut watched = Watched {
            inner: &mut inner,
            watchdog: &dog,
        };
        watched.epoch_started(1, 2);
        for _ in 0..6 {
            std::thread::sleep(Duration::from_millis(50));
            watched.note("still going");
        }
        assert!(rx.try_recv().is_err());
        let stall = rx.recv_timeout(Duration::from_secs(10)).expect("silence");
        assert_eq!(stall.epoch, Some(1));
        drop(dog);
        assert_eq!(inner.0, 1, "reports go on to the inner observer");
    }
}
