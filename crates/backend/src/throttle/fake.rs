//! A fake clock for the tests of the throttle and of the epoch guard.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::Clock;

/// A clock that moves only when a test advances it or a throttle sleeps on it (by the
/// sleep plus an oversleep), shared between the test and the throttle it drives.
#[derive(Debug, Clone)]
pub(crate) struct SharedClock(Rc<RefCell<State>>);

#[derive(Debug)]
struct State {
    now: Instant,
    oversleep: Duration,
    sleeps: Vec<Duration>,
}

impl SharedClock {
    /// A clock whose sleeps last `oversleep` longer than asked.
    pub(crate) fn with_oversleep(oversleep: Duration) -> Self {
        Self(Rc::new(RefCell::new(State {
            now: Instant::now(),
            oversleep,
            sleeps: Vec::new(),
        })))
    }

    /// Moves the clock on by `duration` (a step's busy time).
    pub(crate) fn advance(&self, duration: Duration) {
        self.0.borrow_mut().now += duration;
    }

    /// The clock's time.
    pub(crate) fn time(&self) -> Instant {
        self.0.borrow().now
    }

    /// The sleeps asked of the clock so far.
    pub(crate) fn sleeps(&self) -> Vec<Duration> {
        self.0.borrow().sleeps.clone()
    }
}

impl Clock for SharedClock {
    fn now(&mut self) -> Instant {
        self.time()
    }

    fn sleep(&mut self, duration: Duration) {
        let mut state = self.0.borrow_mut();
        state.sleeps.push(duration);
        let oversleep = state.oversleep;
        state.now += duration + oversleep;
    }
}
