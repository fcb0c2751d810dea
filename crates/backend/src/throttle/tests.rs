//! The throttle's tests: the duty cycle on a fake clock, and the memory cap.
#![allow(clippy::unwrap_used)]

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
