//! A fractional device: the throttle that imitates a MIG slice such as DataSphere's g2.mig
//! (1/8 of an A100), and a memory cap of the same share.
//!
//! After each training step the caller synchronises the device and calls
//! [`Throttle::after_step`]. The throttle takes the time since the end of its previous idle
//! period as the step's busy time `t` and idles `t * (1/f - 1)`, so the device is busy a
//! fraction `f` of the wall time and the run takes about `1/f` as long. A real MIG slice
//! instead has `f` of the SMs at full clock: work that cannot fill a whole GPU (a batch-1
//! step of a tiny MLP is launch-latency bound) slows far less than `1/f` there. The throttle
//! therefore gives an upper bound of a slice's wall time, not a prediction.

use std::time::{Duration, Instant};

use replay_core::GpuShare;

/// Errors of the memory cap.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThrottleError {
    /// The run holds more device memory than its share allows.
    #[error(
        "device memory {used_mib:.1} MiB exceeds the cap of {cap_mib:.1} MiB ({share} of the \
         device's {device_mib:.1} MiB); raise the GPU share or use a smaller batch"
    )]
    MemoryExceeded {
        /// Memory the device holds for the run.
        used_mib: f64,
        /// The cap.
        cap_mib: f64,
        /// The share that set the cap.
        share: f64,
        /// The device's whole memory.
        device_mib: f64,
    },
}

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

/// Keeps a device busy only a share `f` of the time (see the module docs).
#[derive(Debug)]
pub struct Throttle<C: Clock = SystemClock> {
    share: GpuShare,
    clock: C,
    busy_since: Instant,
    busy: Duration,
    idle: Duration,
    ideal_idle: Duration,
}

impl Throttle<SystemClock> {
    /// A throttle to `share` of the device on the system clock; the first step's busy time
    /// starts now.
    pub fn new(share: GpuShare) -> Self {
        Self::with_clock(share, SystemClock)
    }
}

impl<C: Clock> Throttle<C> {
    /// How the throttle works, for the results' `throttle_method` column.
    pub const METHOD: &'static str = "duty-cycle";

    /// A throttle on the given clock.
    pub fn with_clock(share: GpuShare, mut clock: C) -> Self {
        let busy_since = clock.now();
        Self {
            share,
            clock,
            busy_since,
            busy: Duration::ZERO,
            idle: Duration::ZERO,
            ideal_idle: Duration::ZERO,
        }
    }

    /// The share f.
    pub fn share(&self) -> GpuShare {
        self.share
    }

    /// Restarts the busy-time measurement now (call before the first step when set-up work
    /// happened since the throttle was made).
    pub fn start(&mut self) {
        self.busy_since = self.clock.now();
    }

    /// Ends a step: the time since the last idle period is the step's busy time `t`; idles
    /// `t * (1/f - 1)` and returns the time actually idled. Call after synchronising the device.
    ///
    /// Sleeps overshoot (timer slack, a loaded machine): the excess is carried over and idled
    /// less on the next steps, so the total idle time tracks the ideal one.
    pub fn after_step(&mut self) -> Duration {
        let now = self.clock.now();
        let busy = now.saturating_duration_since(self.busy_since);
        self.busy += busy;
        // At most 1023 x the busy time: the share is at least 1/1024.
        self.ideal_idle += busy.mul_f64(1.0 / self.share.get() - 1.0);
        let wanted = self.ideal_idle.saturating_sub(self.idle);
        let mut slept = Duration::ZERO;
        if !wanted.is_zero() {
            self.clock.sleep(wanted);
            self.busy_since = self.clock.now();
            slept = self.busy_since.saturating_duration_since(now);
        } else {
            self.busy_since = now;
        }
        self.idle += slept;
        slept
    }

    /// Total busy time measured so far.
    pub fn busy(&self) -> Duration {
        self.busy
    }

    /// Total time idled so far.
    pub fn idle(&self) -> Duration {
        self.idle
    }
}

/// A cap on the device memory a run may hold: the share f times the device's memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryCap {
    share: GpuShare,
    device_bytes: u64,
}

impl MemoryCap {
    /// A cap of `share` x `device_bytes`.
    pub fn new(share: GpuShare, device_bytes: u64) -> Self {
        Self {
            share,
            device_bytes,
        }
    }

    /// The cap in bytes.
    pub fn limit_bytes(&self) -> u64 {
        (self.device_bytes as f64 * self.share.get()) as u64
    }

    /// An error when `used_bytes` is above the cap.
    pub fn check(&self, used_bytes: u64) -> Result<(), ThrottleError> {
        if used_bytes <= self.limit_bytes() {
            return Ok(());
        }
        const MIB: f64 = 1024.0 * 1024.0;
        Err(ThrottleError::MemoryExceeded {
            used_mib: used_bytes as f64 / MIB,
            cap_mib: self.limit_bytes() as f64 / MIB,
            share: self.share.get(),
            device_mib: self.device_bytes as f64 / MIB,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A clock that advances only when told to, and records the sleeps asked of it.
    struct FakeClock {
        now: Instant,
        sleeps: Vec<Duration>,
    }

    impl Clock for FakeClock {
        fn now(&mut self) -> Instant {
            self.now
        }
        fn sleep(&mut self, duration: Duration) {
            self.sleeps.push(duration);
            self.now += duration;
        }
    }

    fn share(value: f64) -> GpuShare {
        GpuShare::new(value).unwrap()
    }

    fn throttle(value: f64) -> Throttle<FakeClock> {
        let clock = FakeClock {
            now: Instant::now(),
            sleeps: Vec::new(),
        };
        Throttle::with_clock(share(value), clock)
    }

    #[test]
    fn idles_exactly_busy_time_times_one_over_share_minus_one() {
        let mut t = throttle(0.125);
        t.clock.now += Duration::from_millis(10);
        assert_eq!(t.after_step(), Duration::from_millis(70));
        t.clock.now += Duration::from_micros(3);
        assert_eq!(t.after_step(), Duration::from_micros(21));
        assert_eq!(
            t.clock.sleeps,
            vec![Duration::from_millis(70), Duration::from_micros(21)]
        );
        assert_eq!(t.busy(), Duration::from_micros(10_003));
        assert_eq!(t.idle(), Duration::from_micros(70_021));

        let mut half = throttle(0.5);
        half.clock.now += Duration::from_millis(4);
        assert_eq!(half.after_step(), Duration::from_millis(4));
    }

    #[test]
    fn idle_time_is_not_counted_as_the_next_steps_busy_time() {
        let mut t = throttle(0.25);
        t.clock.now += Duration::from_millis(1);
        t.after_step();
        t.clock.now += Duration::from_millis(2);
        assert_eq!(t.after_step(), Duration::from_millis(6));
    }

    #[test]
    fn an_oversleep_is_paid_back_on_the_next_steps() {
        /// Sleeps 50 us longer than asked, like a loaded machine.
        struct Oversleeper(Instant);
        impl Clock for Oversleeper {
            fn now(&mut self) -> Instant {
                self.0
            }
            fn sleep(&mut self, duration: Duration) {
                self.0 += duration + Duration::from_micros(50);
            }
        }
        let mut t = Throttle::with_clock(share(0.5), Oversleeper(Instant::now()));
        t.clock.0 += Duration::from_micros(100);
        assert_eq!(t.after_step(), Duration::from_micros(150));
        t.clock.0 += Duration::from_micros(100);
        // Wants 100 - 50 already idled = 50, sleeps 100.
        assert_eq!(t.after_step(), Duration::from_micros(100));
        assert_eq!(t.idle(), Duration::from_micros(250));
        assert_eq!(t.busy(), Duration::from_micros(200));
    }

    #[test]
    fn a_whole_device_never_idles() {
        let mut t = throttle(1.0);
        t.clock.now += Duration::from_millis(5);
        assert_eq!(t.after_step(), Duration::ZERO);
        assert!(t.clock.sleeps.is_empty());
    }

    #[test]
    fn the_smallest_share_idles_1023_times_the_busy_time() {
        let mut t = throttle(GpuShare::MIN);
        t.clock.now += Duration::from_secs(10);
        assert_eq!(t.after_step(), Duration::from_secs(10_230));
    }

    #[test]
    fn memory_cap_is_the_share_of_the_device() {
        let cap = MemoryCap::new(share(0.125), 8 << 30);
        assert_eq!(cap.limit_bytes(), 1 << 30);
        assert!(cap.check(1 << 30).is_ok());
        let err = cap.check((1 << 30) + 1).unwrap_err();
        assert!(
            err.to_string().contains("exceeds the cap of 1024.0 MiB"),
            "{err}"
        );
    }
}
