//! How a configuration's hardware is imitated for one run: which device and step, how many
//! threads, and how the GPU share is enforced; decided once, recorded in the results.

use replay_core::{
    BackendKind, GpuShare, Implementation, Name, ShareMethod, Step, StepKind, Workload,
};

use crate::Device;
use crate::device::{BackendError, ComputeUnits, DeviceFacts, UnitsSource, open};
use crate::host::{self, Pinning};
use crate::threads::ThreadPool;
use crate::throttle::{Clock, MemoryCap, Miss, QUANTUM, SystemClock, Throttle};

/// The `backend` column of the hand-written rule, which uses no Burn backend.
pub const PLAIN_RUST: &str = "plain-rust";

/// Steps between two checks of the device's memory against the cap.
const MEMORY_CHECK_EVERY: usize = 256;

/// What a run asks of the emulation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmulationSpec {
    /// The implementation to train.
    pub implementation: Implementation,
    /// The backend of the Burn MLP (unused by the hand-written rule).
    pub backend: BackendKind,
    /// How the Burn MLP takes its steps.
    pub step: Step,
    /// What the run trains (the step and the threads it can use depend on it).
    pub workload: Workload,
    /// CPU threads asked for (the configuration's vCPUs).
    pub threads: usize,
    /// The share of a GPU the configuration has.
    pub gpu_share: Option<GpuShare>,
    /// How the share is emulated.
    pub gpu_share_method: ShareMethod,
}

/// How an emulation holds a run to its GPU share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Enforcement {
    /// No share to enforce: none, or a whole GPU.
    Unneeded,
    /// The run uses no GPU: the hand-written rule, or a CPU backend.
    OnTheCpu,
    /// A duty cycle: the device is lent for the share of the time.
    TimeSlice,
    /// The fused kernel's launches limited to the slice's share of the device's compute units.
    Spatial {
        /// Cubes a launch may use: the share of the units, at least one.
        cubes: u32,
        /// The device's units.
        units: ComputeUnits,
    },
    /// A spatial share asked of the autodiff step, whose kernels are Burn's own.
    Unenforceable,
}

/// The step a run takes: the hand-written rule's fast loop, the fused operation, or Burn's
/// autodiff with the variant that suits the backend (on a CPU, only the lit pixels' weight
/// rows go through the graph, about 0.8 of the dense step's time; a GPU launches a kernel
/// per operation whatever its size, and the extra gather and scatter made a step about 1.5
/// times slower on wgpu, so GPUs take the dense step, as Keras does). The fused step is the
/// default: on every backend it is the faster one for every width and batch that
/// `scripts/bench.sh` measures.
pub fn step_kind(
    implementation: Implementation,
    step: Step,
    backend: BackendKind,
    workload: &Workload,
) -> Result<StepKind, BackendError> {
    let autodiff = if backend.is_gpu() {
        StepKind::Dense
    } else {
        StepKind::LitPixels
    };
    if !crate::fused::supports(backend, workload.hidden_units) {
        return Err(BackendError::Unsupported(format!(
            "{} hidden units is not a network this replay trains; 1 to {} are",
            workload.hidden_units,
            crate::fused::MAX_HIDDEN
        )));
    }
    if implementation == Implementation::Manual {
        if workload.hidden_units != Workload::STUDY.hidden_units {
            return Err(BackendError::Unsupported(format!(
                "the hand-written rule is the study's {}-unit network; got {} hidden units (set \
                 run.hidden_units = {}, or train the Burn MLP)",
                Workload::STUDY.hidden_units,
                workload.hidden_units,
                Workload::STUDY.hidden_units
            )));
        }
        if workload.batch_size != 1 {
            return Err(BackendError::Unsupported(format!(
                "the hand-written rule trains one image at a time; got batch size {} (set \
                 run.batch_size = 1)",
                workload.batch_size
            )));
        }
    }
    Ok(match (implementation, step) {
        (Implementation::Manual, _) => StepKind::Fast,
        (Implementation::Burn, Step::Fused) => StepKind::Fused,
        (Implementation::Burn, Step::Autodiff) => autodiff,
    })
}

/// The cubes a launch may use under a spatial share of a device with `units` compute units:
/// the share of them, rounded, and at least one (a kernel launches one cube at the least).
pub fn spatial_cubes(share: GpuShare, units: u32) -> u32 {
    ((share.get() * f64::from(units)).round() as u32).max(1)
}

/// The emulated hardware of one run, opened once and shared by its repeats.
#[derive(Debug)]
pub struct Emulation {
    /// The Burn device and what it is; `None` for the hand-written rule (plain Rust).
    device: Option<(Device, DeviceFacts)>,
    pool: ThreadPool,
    step: StepKind,
    gpu_share: Option<GpuShare>,
    enforcement: Enforcement,
    memory_cap: Option<MemoryCap>,
    pinning: Pinning,
}

impl Emulation {
    /// Pins the process to as many host cores as the configuration has vCPUs (where the host
    /// has that many; a refused pin is reported by [`Emulation::pinning`], not an error), then
    /// opens the device (the Burn MLP only; its driver's threads are
    /// pinned too) and the thread pool. A step that runs on one CPU thread (the hand-written
    /// rule, the fused step on a CPU backend) gets a pool of one, so that the results say what
    /// was used.
    pub fn open(spec: &EmulationSpec) -> Result<Self, BackendError> {
        let step = step_kind(spec.implementation, spec.step, spec.backend, &spec.workload)?;
        let pinning = host::pin_vcpus(spec.threads);
        let device = match spec.implementation {
            Implementation::Burn => Some(open(spec.backend)?),
            Implementation::Manual => None,
        };
        // The hand-written rule runs on one thread; the fused CPU step on as many as a step
        // has work for; everything else on the configuration's vCPUs.
        let cores = spec.threads.min(host::host_cores()).max(1);
        let threads = match step {
            StepKind::Fast => 1,
            StepKind::Fused if !spec.backend.is_gpu() => crate::fused::cpu_threads_for(
                spec.workload.batch_size,
                spec.workload.hidden_units,
                cores,
            ),
            _ => cores,
        };
        let pool = if threads == 1 {
            ThreadPool::sequential(spec.threads)
        } else {
            ThreadPool::new(spec.threads)
        }
        .map_err(|e| BackendError::Threads {
            threads: spec.threads,
            detail: e.to_string(),
        })?;
        let share = spec.gpu_share.filter(|s| !s.is_whole());
        let enforcement = match (share, &device) {
            (None, _) => Enforcement::Unneeded,
            (Some(_), None) => Enforcement::OnTheCpu,
            (Some(_), Some(_)) if !spec.backend.is_gpu() => Enforcement::OnTheCpu,
            (Some(_), Some(_)) => match (spec.gpu_share_method, step) {
                (ShareMethod::TimeSlice, _) => Enforcement::TimeSlice,
                (ShareMethod::Spatial, StepKind::Fused) => {
                    let units = device
                        .as_ref()
                        .and_then(|(_, facts)| facts.compute_units)
                        .unwrap_or(ComputeUnits {
                            count: crate::device::ASSUMED_UNITS,
                            source: UnitsSource::Assumed,
                        });
                    Enforcement::Spatial {
                        cubes: spatial_cubes(share.unwrap_or(GpuShare::WHOLE), units.count),
                        units,
                    }
                }
                (ShareMethod::Spatial, _) => Enforcement::Unenforceable,
            },
        };
        let on_gpu = !matches!(enforcement, Enforcement::Unneeded | Enforcement::OnTheCpu);
        let memory_cap = match (share, &device) {
            (Some(share), Some((_, facts))) if on_gpu => {
                facts.memory_bytes.map(|bytes| MemoryCap::new(share, bytes))
            }
            _ => None,
        };
        Ok(Self {
            device,
            pool,
            step,
            gpu_share: spec.gpu_share,
            enforcement,
            memory_cap,
            pinning,
        })
    }

    /// The host cores the process is pinned to, if the host had as many as asked for and
    /// pinning succeeded.
    pub fn pinned_cores(&self) -> Option<&[usize]> {
        self.pinning.cores()
    }

    /// How the process was pinned: to which cores, or why not (too few cores, or the error).
    pub fn pinning(&self) -> &Pinning {
        &self.pinning
    }

    /// What a person should know about how the share is emulated, in one line, if anything.
    pub fn note(&self) -> Option<String> {
        let share = self.gpu_share?;
        (self.enforcement == Enforcement::Unenforceable).then(|| {
            format!(
                "note: a spatial GPU share ({share}) cannot be enforced on the autodiff step, \
                 whose kernels are Burn's own; it runs on the whole device, as if the slice's \
                 compute units sufficed (they do for batch-1 steps); --step fused or \
                 --gpu-share-method time-slice enforce a share"
            )
        })
    }

    /// The Burn device; `None` for the hand-written rule.
    pub fn device(&self) -> Option<&Device> {
        self.device.as_ref().map(|(device, _)| device)
    }

    /// The `backend` column: the backend's name, or [`PLAIN_RUST`] for the hand-written rule.
    pub fn backend_label(&self) -> &'static str {
        self.device
            .as_ref()
            .map_or(PLAIN_RUST, |(_, facts)| facts.backend.name())
    }

    /// The `device` column: the adapter's name, or `cpu`.
    pub fn adapter(&self) -> &str {
        self.device
            .as_ref()
            .map_or("cpu", |(_, facts)| facts.adapter.as_str())
    }

    /// The step the run takes.
    pub fn step(&self) -> StepKind {
        self.step
    }

    /// The thread pool the run trains in.
    pub fn pool(&self) -> &ThreadPool {
        &self.pool
    }

    /// The share of a GPU emulated, if the configuration has one.
    pub fn gpu_share(&self) -> Option<GpuShare> {
        self.gpu_share
    }

    /// The most cubes a GPU launch of the fused step may use (the spatial share), if limited.
    pub fn gpu_cubes(&self) -> Option<u32> {
        match self.enforcement {
            Enforcement::Spatial { cubes, .. } => Some(cubes),
            _ => None,
        }
    }

    /// How the GPU share is enforced, for the `throttle_method` column: `time-slice` (a duty
    /// cycle), `spatial (K of N units)` (the fused step's launches limited to K of the
    /// device's N compute units; `spatial (K of N units, assumed)` where the device is in no table), `none (spatial
    /// share not enforceable on the autodiff step)`, each with `+ memory cap` where the
    /// device's memory is known; `none (runs on the CPU)` for a share the run cannot use, or
    /// `none`. An epoch's row has [`EpochGuard::throttle_method`] instead, which adds the busy
    /// fraction a time slice measured where it missed the share.
    pub fn throttle_method(&self) -> String {
        self.throttle_method_with(None)
    }

    /// [`Emulation::throttle_method`], with `time-slice (busy 0.43, 2.35x the unthrottled
    /// time)` for a time slice that `missed` the share.
    fn throttle_method_with(&self, missed: Option<Miss>) -> String {
        let method = match self.enforcement {
            Enforcement::Unneeded => return "none".to_string(),
            Enforcement::OnTheCpu => return "none (runs on the CPU)".to_string(),
            Enforcement::TimeSlice => match missed {
                Some(miss) => format!("{} ({miss})", ShareMethod::TimeSlice.name()),
                None => ShareMethod::TimeSlice.name().to_string(),
            },
            Enforcement::Spatial { cubes, units } => {
                let assumed = if units.source == UnitsSource::Assumed {
                    ", assumed"
                } else {
                    ""
                };
                format!("spatial ({cubes} of {} units{assumed})", units.count)
            }
            Enforcement::Unenforceable => {
                "none (spatial share not enforceable on the autodiff step)".to_string()
            }
        };
        match self.memory_cap {
            Some(_) => format!("{method} + memory cap"),
            None => method,
        }
    }

    /// A fresh guard for one epoch: call [`EpochGuard::start`] right before the first step,
    /// [`EpochGuard::after_steps`] after every step or chunk, and [`EpochGuard::finish`] right
    /// after the last.
    pub fn epoch_guard(&self) -> EpochGuard<'_> {
        self.epoch_guard_on(SystemClock)
    }

    /// [`Emulation::epoch_guard`] with the time slice on `clock`.
    fn epoch_guard_on<C: Clock>(&self, clock: C) -> EpochGuard<'_, C> {
        EpochGuard {
            emulation: self,
            throttle: (self.enforcement == Enforcement::TimeSlice)
                .then_some(self.gpu_share)
                .flatten()
                .map(|share| Throttle::with_clock(share, clock).with_quantum(QUANTUM)),
            memory_cap: self.memory_cap,
            next_check: 1,
            steps_counted: 0,
        }
    }
}

/// Enforces an [`Emulation`]'s GPU share during one epoch.
#[derive(Debug)]
pub struct EpochGuard<'a, C: Clock = SystemClock> {
    emulation: &'a Emulation,
    throttle: Option<Throttle<C>>,
    memory_cap: Option<MemoryCap>,
    next_check: usize,
    /// The last step counted by the throttle.
    steps_counted: usize,
}

impl<C: Clock> EpochGuard<'_, C> {
    /// After the epoch's steps up to `step` (counted from 1): for a time slice, once a slice's
    /// busy time has passed, synchronises the device and idles; every 256 steps, checks the
    /// device's memory against the cap.
    pub fn after_steps(&mut self, step: usize) -> Result<(), BackendError> {
        let Some(device) = self.emulation.device() else {
            return Ok(());
        };
        if let Some(throttle) = self.throttle.as_mut() {
            throttle.count_steps(step.saturating_sub(self.steps_counted));
            self.steps_counted = step;
            if throttle.due() {
                sync(device)?;
                throttle.after_step();
            }
        }
        if let Some(cap) = &self.memory_cap
            && step >= self.next_check
        {
            self.next_check = step + MEMORY_CHECK_EVERY;
            if let Some(usage) = device.memory_pool_usage() {
                cap.check(usage.bytes_reserved)
                    .map_err(|e| BackendError::Device(e.to_string()))?;
            }
        }
        Ok(())
    }

    /// Restarts the throttle's busy-time measurement (call right before the first step).
    pub fn start(&mut self) {
        if let Some(throttle) = self.throttle.as_mut() {
            throttle.start();
        }
        self.steps_counted = 0;
    }

    /// Waits for the device to finish the epoch's work and idles for whatever the time slice
    /// still owes (call right after the last step, so that the epoch's wall time holds it).
    pub fn finish(&mut self) -> Result<(), BackendError> {
        if let (Some(throttle), Some(device)) = (self.throttle.as_mut(), self.emulation.device()) {
            sync(device)?;
            throttle.finish();
        }
        Ok(())
    }

    /// The `throttle_method` of the epoch's row: the emulation's
    /// ([`Emulation::throttle_method`]), where a time slice that missed the share by more
    /// than [`TOLERANCE`](crate::throttle::TOLERANCE) says so ([`Throttle::missed`]):
    /// `time-slice (busy 0.43, 2.35x the unthrottled time)`, the device busy 43 % of the
    /// epoch's wall time where 50 % was asked, and the epoch 2.35 times as long as its steps
    /// take at full speed where 2 was asked. Call after [`EpochGuard::finish`].
    pub fn throttle_method(&self) -> String {
        self.emulation
            .throttle_method_with(self.throttle.as_ref().and_then(Throttle::missed))
    }

    /// The share of the epoch's wall time the device was busy, for a time slice (after
    /// [`EpochGuard::finish`]; `None` without a time slice).
    pub fn busy_fraction(&self) -> Option<f64> {
        self.throttle.as_ref().and_then(Throttle::busy_fraction)
    }
}

/// Waits for the device's queued work.
fn sync(device: &Device) -> Result<(), BackendError> {
    device
        .sync()
        .map_err(|e| BackendError::Device(e.to_string()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn spec(implementation: Implementation, backend: BackendKind) -> EmulationSpec {
        EmulationSpec {
            implementation,
            backend,
            step: Step::Fused,
            workload: Workload::STUDY,
            threads: 4,
            gpu_share: Some(GpuShare::new(0.125).unwrap()),
            gpu_share_method: ShareMethod::Spatial,
        }
    }

    #[test]
    fn each_implementation_and_backend_takes_its_step() {
        use BackendKind::{Flex, Ndarray, Wgpu};
        use Implementation::{Burn, Manual};
        let study = Workload::STUDY;
        let wide = Workload {
            hidden_units: 512,
            batch_size: 256,
            ..Workload::STUDY
        };
        let kind = |i, s, b, w: &Workload| step_kind(i, s, b, w).unwrap();
        for backend in [Flex, Ndarray, Wgpu] {
            assert_eq!(kind(Burn, Step::Fused, backend, &study), StepKind::Fused);
            assert_eq!(
                kind(Manual, Step::Autodiff, backend, &study),
                StepKind::Fast
            );
        }
        for backend in [Flex, Ndarray] {
            assert_eq!(kind(Burn, Step::Fused, backend, &wide), StepKind::Fused);
            assert_eq!(
                kind(Burn, Step::Autodiff, backend, &wide),
                StepKind::LitPixels
            );
        }
        assert_eq!(kind(Burn, Step::Autodiff, Wgpu, &study), StepKind::Dense);
        assert_eq!(kind(Burn, Step::Fused, Wgpu, &wide), StepKind::Fused);
        let too_wide = Workload {
            hidden_units: 4097,
            ..wide
        };
        let err = step_kind(Burn, Step::Fused, Flex, &too_wide).unwrap_err();
        assert!(err.to_string().contains("4097 hidden units"), "{err}");
    }

    #[test]
    fn a_spatial_share_limits_a_launch_to_its_part_of_the_units() {
        let share = |f: f64| GpuShare::new(f).unwrap();
        assert_eq!(spatial_cubes(GpuShare::WHOLE, 132), 132);
        assert_eq!(spatial_cubes(share(0.5), 132), 66);
        assert_eq!(spatial_cubes(share(0.125), 132), 17);
        assert_eq!(spatial_cubes(share(0.125), 108), 14);
        assert_eq!(spatial_cubes(share(0.5), 2), 1);
        assert_eq!(spatial_cubes(share(0.125), 2), 1);
        assert_eq!(spatial_cubes(GpuShare::WHOLE, 2), 2);
    }

    #[test]
    fn the_hand_written_rule_runs_on_one_cpu_thread_unthrottled() {
        let emulation = Emulation::open(&spec(Implementation::Manual, BackendKind::Wgpu)).unwrap();
        assert!(emulation.device().is_none());
        assert_eq!(emulation.backend_label(), PLAIN_RUST);
        assert_eq!(emulation.adapter(), "cpu");
        assert_eq!(
            (emulation.pool().requested(), emulation.pool().used()),
            (4, 1)
        );
        assert_eq!(emulation.throttle_method(), "none (runs on the CPU)");
        assert_eq!(emulation.step(), StepKind::Fast);
    }

    #[test]
    fn a_time_slice_row_says_by_how_much_it_missed_the_share() {
        use crate::throttle::fake::SharedClock;
        use std::time::Duration;

        let mut s = spec(Implementation::Burn, BackendKind::Wgpu);
        // Every core the process started with, so that opening the emulation (which pins the
        // whole test binary) slows no other test; pinning to fewer cores is tested in
        // tests/pinning.rs, a binary of its own.
        s.threads = host::original_cores().len().max(1);
        s.gpu_share = Some(GpuShare::new(0.5).unwrap());
        s.gpu_share_method = ShareMethod::TimeSlice;
        let emulation = match Emulation::open(&s) {
            Err(BackendError::NotCompiled { .. }) => {
                assert!(!crate::is_compiled(BackendKind::Wgpu));
                let _ = std::io::Write::write_all(
                    &mut std::io::stderr(),
                    b"skipped a_time_slice_row_says_by_how_much_it_missed_the_share: needs wgpu\n",
                );
                return;
            }
            other => other.unwrap(),
        };
        // Half a second of 3.5 ms steps; every idle period lasts `oversleep` longer than asked.
        let epoch = |oversleep: Duration| {
            let clock = SharedClock::with_oversleep(oversleep);
            let mut guard = emulation.epoch_guard_on(clock.clone());
            guard.start();
            for step in 1..=143 {
                clock.advance(Duration::from_micros(3500));
                guard.after_steps(step).unwrap();
            }
            guard.finish().unwrap();
            (guard.throttle_method(), guard.busy_fraction().unwrap())
        };
        let (method, fraction) = epoch(Duration::ZERO);
        assert!((fraction - 0.5).abs() < 1e-6, "{fraction}");
        assert!(
            method.starts_with("time-slice") && !method.contains("busy"),
            "{method}"
        );
        assert_eq!(method, emulation.throttle_method());
        let (method, fraction) = epoch(Duration::from_secs(1));
        assert!(fraction < 0.5 / 1.15, "{fraction}");
        assert!(
            method.starts_with(&format!("time-slice (busy {fraction:.2}, ")),
            "{method}"
        );
        assert!(method.contains("x the unthrottled time)"), "{method}");
    }

    #[cfg(feature = "flex")]
    #[test]
    fn a_cpu_backend_ignores_the_gpu_share_and_says_so() {
        let mut s = spec(Implementation::Burn, BackendKind::Flex);
        let emulation = Emulation::open(&s).unwrap();
        assert_eq!(emulation.backend_label(), "flex");
        assert_eq!(emulation.throttle_method(), "none (runs on the CPU)");
        assert_eq!(
            emulation.pool().used(),
            1,
            "the fused CPU step runs a batch-1 step on one thread"
        );
        s.workload = Workload {
            hidden_units: 512,
            batch_size: 256,
            ..Workload::STUDY
        };
        let wide = Emulation::open(&s).unwrap();
        assert_eq!(wide.step(), StepKind::Fused);
        assert_eq!(wide.pool().used(), 4.min(crate::host_cores()));
        s.workload = Workload::STUDY;
        s.step = Step::Autodiff;
        s.gpu_share = None;
        let emulation = Emulation::open(&s).unwrap();
        assert_eq!(emulation.throttle_method(), "none");
        assert_eq!(emulation.pool().used(), 4.min(crate::host_cores()));
        let mut guard = emulation.epoch_guard();
        guard.start();
        assert!(guard.after_steps(1).is_ok());
    }
}
