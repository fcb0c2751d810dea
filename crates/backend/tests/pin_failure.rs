//! A pin the kernel refuses is an error that names the cores asked for and the kernel's
//! answer, and leaves the process where it was. (Its own test binary: it must see the
//! process's affinity unchanged by other tests.)

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used)]

use replay_backend::host::{PinError, allowed_cores, pin_process};

/// Cores an affinity mask names on Linux (`cpu_set_t` holds 1,024 bits).
const MASK_CORES: usize = 1024;

#[test]
fn a_core_the_process_may_not_use_is_refused_by_name_and_nothing_moves() {
    let before = allowed_cores();
    let Some(forbidden) = (0..MASK_CORES).rev().find(|core| !before.contains(core)) else {
        panic!("the process may use all {MASK_CORES} cores a mask names");
    };
    match pin_process(&[forbidden]) {
        Err(PinError::SetAffinity { cores, source, .. }) => {
            assert_eq!(cores, forbidden.to_string());
            // EINVAL: the mask holds no core the process may run on.
            assert_eq!(source.raw_os_error(), Some(22), "{source}");
        }
        other => panic!("pinning to core {forbidden} gave {other:?}"),
    }
    assert_eq!(allowed_cores(), before, "a refused pin moved the process");
}

#[test]
fn a_core_beyond_what_a_mask_names_is_an_error_not_a_crash() {
    let error = pin_process(&[MASK_CORES + 7]).unwrap_err();
    assert!(
        matches!(error, PinError::CoreOutOfRange { core, max } if core == MASK_CORES + 7 && max == MASK_CORES),
        "{error:?}"
    );
    assert!(error.to_string().contains("core 1031"), "{error}");
}
