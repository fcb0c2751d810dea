//! Where the throttle reads time and how it waits: the [`Clock`] trait and the system clock.

use std::time::{Duration, Instant};

/// Where the throttle reads time and how it waits: the system clock, or a fake in tests.
pub trait Clock {
    /// The current instant.
    fn now(&mut self) -> Instant;
    /// Idles for `duration`.
    fn sleep(&mut self, duration: Duration);
}

/// The real clock: `Instant::now` and a sleep that spins for the last 100 us (OS sleeps
/// overshoot by tens of microseconds, which would throttle short steps too much).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&mut self) -> Instant {
        Instant::now()
    }

    fn sleep(&mut self, duration: Duration) {
        let deadline = Instant::now() + duration;
        let spin = Duration::from_micros(100);
        if duration > spin {
            std::thread::sleep(duration - spin);
        }
        while Instant::now() < deadline {
            std::hint::spin_loop();
        }
    }
}
