//! Pinning the process reaches every thread: those running before and those started after;
//! an emulation of one vCPU pins the process to one core. (Its own test binary: pinning
//! would slow the other tests of a shared process.)

#![allow(clippy::unwrap_used)]

use std::sync::{Mutex, mpsc};

use replay_backend::host::{allowed_cores, first_cores, host_cores, original_cores, pin_process};
use replay_backend::{BackendError, Emulation, EmulationSpec, is_compiled};
use replay_core::{BackendKind, GpuShare, Implementation, ShareMethod, Step, Workload};

/// Held by each test while it pins: the pinning is the whole process's, so the tests of this
/// binary take turns.
static PINNING: Mutex<()> = Mutex::new(());

#[test]
fn every_thread_of_the_process_runs_on_the_pinned_cores() {
    let _turn = PINNING.lock().unwrap_or_else(|e| e.into_inner());
    let allowed = allowed_cores();
    let cores = host_cores();
    let one = first_cores(&allowed, 1).unwrap();
    let (go, wait) = mpsc::channel::<()>();
    let earlier = std::thread::spawn(move || {
        wait.recv().unwrap();
        allowed_cores()
    });
    assert!(pin_process(&one).unwrap());
    go.send(()).unwrap();
    assert_eq!(
        earlier.join().unwrap(),
        one,
        "a thread started before pinning"
    );
    let later = std::thread::spawn(allowed_cores).join().unwrap();
    assert_eq!(later, one, "a thread started after pinning");
    assert_eq!(allowed_cores(), one, "the pinning thread");
    assert_eq!(
        host_cores(),
        cores,
        "pinning does not change the host's cores"
    );
    assert_eq!(original_cores(), allowed);
    assert!(pin_process(&allowed).unwrap());
    assert_eq!(allowed_cores(), allowed, "pinning again widens the set");
}

#[test]
fn a_slice_of_a_gpu_is_held_in_space_on_the_fused_step_and_in_time_when_asked() {
    let _turn = PINNING.lock().unwrap_or_else(|e| e.into_inner());
    let mut s = EmulationSpec {
        implementation: Implementation::Burn,
        backend: BackendKind::Wgpu,
        step: Step::Fused,
        workload: Workload::STUDY,
        threads: 1,
        gpu_share: Some(GpuShare::new(0.125).unwrap()),
        gpu_share_method: ShareMethod::Spatial,
    };
    let emulation = match Emulation::open(&s) {
        Err(BackendError::NotCompiled { .. }) => {
            return assert!(!is_compiled(BackendKind::Wgpu));
        }
        other => other.unwrap(),
    };
    assert!(
        emulation.throttle_method().starts_with("spatial (1 of "),
        "{}",
        emulation.throttle_method()
    );
    assert_eq!(emulation.gpu_cubes(), Some(1));
    assert_eq!(emulation.note(), None);
    assert_eq!(emulation.pinned_cores().map(<[usize]>::len), Some(1));
    s.gpu_share_method = ShareMethod::TimeSlice;
    let emulation = Emulation::open(&s).unwrap();
    assert!(emulation.throttle_method().starts_with("time-slice"));
    s.gpu_share_method = ShareMethod::Spatial;
    s.step = Step::Autodiff;
    let emulation = Emulation::open(&s).unwrap();
    assert!(
        emulation
            .throttle_method()
            .starts_with("none (spatial share not enforceable on the autodiff step)")
    );
    assert!(
        emulation
            .note()
            .unwrap()
            .contains("cannot be enforced on the autodiff step")
    );
    s.gpu_share = Some(GpuShare::WHOLE);
    assert_eq!(Emulation::open(&s).unwrap().throttle_method(), "none");
    // Let the process run on every core again, as it started.
    pin_process(original_cores()).unwrap();
}
