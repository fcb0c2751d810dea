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
//!
//! This module holds the duty cycle ([`Throttle`]); [`Clock`] and [`SystemClock`] (where it
//! reads time) are in `clock`, the memory cap ([`MemoryCap`], [`ThrottleError`]) in `memory`.

mod clock;
mod memory;

#[cfg(test)]
pub(crate) mod fake;
#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use replay_core::GpuShare;

pub use clock::{Clock, SystemClock};
pub use memory::{MemoryCap, ThrottleError};

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
/// do), and the step after an idle period runs slower; idling after every short step would
/// pay that wake-up cost once per step and stretch a share several times past its time. Long
/// slices pay it once per slice.
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
    /// (the next step's work could not be queued while the last one runs), which makes each
    /// step slower than unthrottled and a share take longer than its time.
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
