//! A fractional device in time: the duty cycle that imitates time-slicing (Kubernetes GPU
//! time-slicing, HAMi-core's SM limit), and a memory cap of a share of the device.
//!
//! After each training step (or chunk of fused steps) the caller synchronises the device and
//! calls [`Throttle::after_step`]. The throttle takes the time since the end of its previous
//! idle period as busy time `t` and owes `t * (1/f - 1)` of idle time, which it idles in slices
//! ([`QUANTUM`]), so the device is busy a fraction `f` of the wall time and the run takes about
//! `1/f` as long. That is what sharing a device in time costs. A MIG slice shares it in space
//! (`f` of the compute units at full clock) and is emulated elsewhere (the fused step's cube
//! count, see `emulation`): work that cannot fill a whole GPU, like a batch-1 step of a tiny
//! MLP, slows far less than `1/f` on a slice.

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
    quantum: Duration,
    clock: C,
    busy_since: Instant,
    busy: Duration,
    idle: Duration,
    ideal_idle: Duration,
    /// Steps taken since the last call to `after_step` ([`Throttle::count_steps`]).
    pending_steps: usize,
    /// Steps counted so far.
    steps: usize,
    /// The shortest busy time per step of any slice: what a step costs at full speed.
    fastest: Option<Duration>,
}

/// How a time-sliced run missed its share (see [`Throttle::missed`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Miss {
    /// The share of the wall time the device was busy.
    pub busy_fraction: f64,
    /// The run's wall time over its steps at the speed of its fastest slice: about 1/f when
    /// the share held (`None` when no steps were counted).
    pub slowdown: Option<f64>,
}

impl std::fmt::Display for Miss {
    /// `busy 0.43`, or `busy 0.50, 2.61x the unthrottled time`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "busy {:.2}", self.busy_fraction)?;
        if let Some(slowdown) = self.slowdown {
            write!(f, ", {slowdown:.2}x the unthrottled time")?;
        }
        Ok(())
    }
}

/// The busy time the throttle lets pass between two idle periods on the system clock, as a
/// time-slicing scheduler gives each tenant a slice: after about this much busy time it idles
/// `QUANTUM * (1/f - 1)` at once. A device left idle parks its worker threads (lavapipe's
/// do), and the step after an idle period runs slower; with a step's worth of idle after
/// every step (3.5 ms autodiff steps on lavapipe) that wake-up cost made a share of 1/2 take
/// 2.9x and 1/8 take 12.4x the unthrottled time. Long slices pay it once per slice.
pub const QUANTUM: Duration = Duration::from_millis(100);

impl Throttle<SystemClock> {
    /// A throttle to `share` of the device on the system clock, in slices of [`QUANTUM`] of
    /// busy time; the first step's busy time starts now.
    pub fn new(share: GpuShare) -> Self {
        Self::with_clock(share, SystemClock).with_quantum(QUANTUM)
    }
}

impl<C: Clock> Throttle<C> {
    /// A throttle on the given clock that idles after every step (no quantum).
    pub fn with_clock(share: GpuShare, mut clock: C) -> Self {
        let busy_since = clock.now();
        Self {
            share,
            quantum: Duration::ZERO,
            clock,
            busy_since,
            busy: Duration::ZERO,
            idle: Duration::ZERO,
            ideal_idle: Duration::ZERO,
            pending_steps: 0,
            steps: 0,
            fastest: None,
        }
    }

    /// Idles only once the idle time owed reaches `quantum * (1/f - 1)`, the idle period of a
    /// slice of `quantum` busy time.
    pub fn with_quantum(mut self, quantum: Duration) -> Self {
        self.quantum = quantum;
        self
    }

    /// The share f.
    pub fn share(&self) -> GpuShare {
        self.share
    }

    /// Restarts the measurement now (call before the first step when set-up work happened
    /// since the throttle was made): no busy or idle time so far.
    pub fn start(&mut self) {
        self.busy_since = self.clock.now();
        self.busy = Duration::ZERO;
        self.idle = Duration::ZERO;
        self.ideal_idle = Duration::ZERO;
        self.pending_steps = 0;
        self.steps = 0;
        self.fastest = None;
    }

    /// Counts `steps` more steps taken since the last [`Throttle::after_step`], so that the
    /// throttle can tell the speed of each slice's steps (see [`Throttle::missed`]).
    pub fn count_steps(&mut self, steps: usize) {
        self.pending_steps += steps;
    }

    /// Adds the busy time since the last idle period, and its steps' speed where it lasted at
    /// least half a slice (a few steps at the end of an epoch say little about full speed).
    fn add_busy(&mut self, busy: Duration) {
        self.busy += busy;
        if self.pending_steps > 0 {
            if busy >= self.quantum / 2 {
                let per_step = busy.div_f64(self.pending_steps as f64);
                self.fastest = Some(self.fastest.map_or(per_step, |f| f.min(per_step)));
            }
            self.steps += self.pending_steps;
            self.pending_steps = 0;
        }
    }

    /// Whether a slice's busy time ([`Throttle::with_quantum`]) has passed since the last
    /// idle period: only then need the caller synchronise the device and call
    /// [`Throttle::after_step`]. Synchronising after every step would stall the device's queue
    /// (the next step's work could no longer be queued while the last one runs), which made
    /// each step slower than unthrottled and a share of 1/2 take 2.6x the unthrottled time.
    pub fn due(&mut self) -> bool {
        self.clock.now().saturating_duration_since(self.busy_since) >= self.quantum
    }

    /// Ends a step: the time since the last idle period is the step's busy time `t`, which
    /// adds `t * (1/f - 1)` to the idle time owed; idles all that is owed once it reaches a
    /// slice's idle period, and returns the time actually idled. Call after synchronising the
    /// device.
    ///
    /// Sleeps overshoot (timer slack, a loaded machine): the excess is carried over and idled
    /// less on the next steps, so the total idle time tracks the ideal one.
    pub fn after_step(&mut self) -> Duration {
        let now = self.clock.now();
        let busy = now.saturating_duration_since(self.busy_since);
        self.add_busy(busy);
        // At most 1023 x the busy time: the share is at least 1/1024.
        let idle_per_busy = 1.0 / self.share.get() - 1.0;
        self.ideal_idle += busy.mul_f64(idle_per_busy);
        let wanted = self.ideal_idle.saturating_sub(self.idle);
        if wanted.is_zero() || wanted < self.quantum.mul_f64(idle_per_busy) {
            self.busy_since = now;
            return Duration::ZERO;
        }
        self.idle_for(wanted, now)
    }

    /// Idles for whatever idle time is still owed (at the end of an epoch, so that its wall
    /// time holds all of it); returns the time idled.
    pub fn finish(&mut self) -> Duration {
        let now = self.clock.now();
        let busy = now.saturating_duration_since(self.busy_since);
        self.add_busy(busy);
        self.ideal_idle += busy.mul_f64(1.0 / self.share.get() - 1.0);
        let wanted = self.ideal_idle.saturating_sub(self.idle);
        if wanted.is_zero() {
            self.busy_since = now;
            return Duration::ZERO;
        }
        self.idle_for(wanted, now)
    }

    fn idle_for(&mut self, wanted: Duration, now: Instant) -> Duration {
        self.clock.sleep(wanted);
        self.busy_since = self.clock.now();
        let slept = self.busy_since.saturating_duration_since(now);
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

    /// The share of the time measured so far that the device was busy, busy / (busy + idle)
    /// (`None` before any time was measured); about f once [`Throttle::finish`] has run.
    pub fn busy_fraction(&self) -> Option<f64> {
        let total = (self.busy + self.idle).as_secs_f64();
        (total > 0.0).then(|| self.busy.as_secs_f64() / total)
    }

    /// The run's wall time over the time its counted steps take at the speed of its fastest
    /// slice ([`Throttle::count_steps`]): an estimate of its slowdown against an unthrottled
    /// run, about 1/f where the share holds. `None` before any step was counted.
    pub fn slowdown(&self) -> Option<f64> {
        let full_speed = self.fastest?.as_secs_f64() * self.steps as f64;
        (full_speed > 0.0).then(|| (self.busy + self.idle).as_secs_f64() / full_speed)
    }

    /// How the run missed its share by more than [`TOLERANCE`], if it did: it took less than
    /// 1/f x (1 - TOLERANCE) or more than 1/f x (1 + TOLERANCE) of its busy time (sleeps that
    /// overshoot on a loaded machine), or of its steps' time at full speed (steps that run
    /// slower after an idle period than before, as Burn's autodiff step does on lavapipe).
    /// `None` when it held (or nothing was measured).
    pub fn missed(&self) -> Option<Miss> {
        let busy_fraction = self.busy_fraction()?;
        let slowdown = self.slowdown();
        let off = |slowdown: f64| (slowdown * self.share.get() - 1.0).abs() > TOLERANCE;
        (off(1.0 / busy_fraction) || slowdown.is_some_and(off)).then_some(Miss {
            busy_fraction,
            slowdown,
        })
    }
}

/// How far a time-sliced run's wall time may stray from 1/f times its busy time before its
/// row says so: a share of 1/2 holds between 1.7x and 2.3x.
pub const TOLERANCE: f64 = 0.15;

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

/// A fake clock for the tests of this module and of the epoch guard.
#[cfg(test)]
pub(crate) mod fake {
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
    fn a_quantum_gathers_idle_time_into_slices_and_finish_pays_the_rest() {
        // Slices of 10 ms busy at 1/4: idle 30 ms after each 10 ms of steps.
        let mut t = throttle(0.25).with_quantum(Duration::from_millis(10));
        for _ in 0..2 {
            t.clock.now += Duration::from_millis(4);
            assert_eq!(t.after_step(), Duration::ZERO);
        }
        t.clock.now += Duration::from_millis(4);
        assert_eq!(t.after_step(), Duration::from_millis(36));
        t.clock.now += Duration::from_millis(1);
        assert_eq!(t.after_step(), Duration::ZERO);
        assert_eq!(t.finish(), Duration::from_millis(3));
        assert_eq!(t.busy(), Duration::from_millis(13));
        assert_eq!(t.idle(), Duration::from_millis(39));
        assert_eq!(t.finish(), Duration::ZERO);
    }

    #[test]
    fn finish_counts_the_busy_time_since_the_last_step() {
        let mut t = throttle(0.5).with_quantum(Duration::from_secs(1));
        t.clock.now += Duration::from_millis(2);
        assert_eq!(t.finish(), Duration::from_millis(2));
    }

    /// Trains `steps` steps of `step` busy time each on `clock` the way the epoch guard does:
    /// the throttle is asked after every step and synchronised and consulted once a slice's
    /// busy time has passed; `finish` at the end. Returns the wall time and the number of
    /// synchronisations.
    fn epoch(
        throttle: &mut Throttle<fake::SharedClock>,
        clock: &fake::SharedClock,
        steps: usize,
        step: Duration,
    ) -> (Duration, usize) {
        let begin = clock.time();
        throttle.start();
        let mut syncs = 0;
        for _ in 0..steps {
            clock.advance(step);
            throttle.count_steps(1);
            if throttle.due() {
                syncs += 1;
                throttle.after_step();
            }
        }
        throttle.finish();
        (clock.time() - begin, syncs + 1)
    }

    #[test]
    fn short_runs_of_either_step_hold_the_share_syncing_once_a_slice() {
        // Half a second of autodiff-like steps (3.5 ms), a fused-like chunk of 0.6 s, and a run
        // shorter than one slice, at 1/2 and 1/8.
        for (steps, step) in [
            (143, Duration::from_micros(3500)),
            (1, Duration::from_millis(600)),
            (10, Duration::from_millis(3)),
        ] {
            for f in [0.5, 0.125] {
                let clock = fake::SharedClock::with_oversleep(Duration::ZERO);
                let mut t = Throttle::with_clock(share(f), clock.clone()).with_quantum(QUANTUM);
                let (wall, syncs) = epoch(&mut t, &clock, steps, step);
                let busy = step * steps as u32;
                assert_eq!(t.busy(), busy);
                let slowdown = wall.as_secs_f64() / busy.as_secs_f64();
                assert!(
                    (slowdown * f - 1.0).abs() < 1e-6,
                    "{steps} x {step:?} at {f}: {slowdown}x"
                );
                assert_eq!(t.missed(), None);
                assert!((t.busy_fraction().unwrap() - f).abs() < 1e-6);
                // One synchronisation a slice (100 ms), not one a step.
                let slices = busy.as_secs_f64() / QUANTUM.as_secs_f64();
                assert!(
                    syncs as f64 <= slices + 2.0,
                    "{syncs} syncs for {slices} slices"
                );
            }
        }
    }

    #[test]
    fn a_run_that_missed_its_share_reports_the_busy_fraction() {
        // Every sleep lasts a second longer than asked (a loaded machine): more than the run has
        // idle time left to pay it back with.
        let clock = fake::SharedClock::with_oversleep(Duration::from_secs(1));
        let mut t = Throttle::with_clock(share(0.5), clock.clone()).with_quantum(QUANTUM);
        let (wall, _) = epoch(&mut t, &clock, 143, Duration::from_micros(3500));
        let miss = t.missed().unwrap();
        let busy = Duration::from_micros(3500 * 143);
        let fraction = miss.busy_fraction;
        assert!((fraction - busy.as_secs_f64() / wall.as_secs_f64()).abs() < 1e-9);
        assert!(fraction < 0.5 / (1.0 + TOLERANCE), "{fraction}");
        // Every step took 3.5 ms: the slowdown is the wall time over the busy time.
        let slowdown = miss.slowdown.unwrap();
        assert!((slowdown - 1.0 / fraction).abs() < 1e-6, "{slowdown}");
        assert_eq!(
            miss.to_string(),
            format!("busy {fraction:.2}, {slowdown:.2}x the unthrottled time")
        );
        assert!(!clock.sleeps().is_empty());

        // 20 ms more per sleep: 1.08x the share's time, within the tolerance.
        let clock = fake::SharedClock::with_oversleep(Duration::from_millis(20));
        let mut t = Throttle::with_clock(share(0.5), clock.clone()).with_quantum(QUANTUM);
        epoch(&mut t, &clock, 143, Duration::from_micros(3500));
        assert_eq!(t.missed(), None, "{:?}", t.busy_fraction());
        assert!(t.busy_fraction().unwrap() < 0.5);
    }

    #[test]
    fn steps_slower_after_idle_periods_are_a_miss_though_the_busy_fraction_held() {
        // The first slice's steps take 2.4 ms, every later slice's 3.3 ms (Burn's autodiff
        // step on lavapipe after an idle period): busy half the time, 2.75x the time at full
        // speed.
        let clock = fake::SharedClock::with_oversleep(Duration::ZERO);
        let mut t = Throttle::with_clock(share(0.5), clock.clone()).with_quantum(QUANTUM);
        t.start();
        for i in 0..600 {
            let slow = !t.idle().is_zero();
            clock.advance(Duration::from_micros(if slow { 3300 } else { 2400 }));
            t.count_steps(1);
            if t.due() {
                t.after_step();
            }
            assert!(i < 50 || slow, "idled after the first slice");
        }
        t.finish();
        let miss = t.missed().unwrap();
        assert!((miss.busy_fraction - 0.5).abs() < 1e-6, "{miss:?}");
        let slowdown = miss.slowdown.unwrap();
        assert!(slowdown > 2.6 && slowdown < 2.8, "{slowdown}");
        // Uncounted steps: only the busy fraction can tell, and it held.
        let clock = fake::SharedClock::with_oversleep(Duration::ZERO);
        let mut t = Throttle::with_clock(share(0.5), clock.clone()).with_quantum(QUANTUM);
        for _ in 0..600 {
            clock.advance(Duration::from_micros(3300));
            if t.due() {
                t.after_step();
            }
        }
        t.finish();
        assert_eq!((t.missed(), t.slowdown()), (None, None));
    }

    #[test]
    fn nothing_measured_is_no_fraction_and_no_miss() {
        let t = throttle(0.5);
        assert_eq!((t.busy_fraction(), t.missed()), (None, None));
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
