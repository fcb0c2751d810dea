//! Pinning the process reaches every thread: those running before and those started after.
//! (Its own test binary: pinning would slow the other tests of a shared process.)

#![allow(clippy::unwrap_used)]

use std::sync::mpsc;

use replay_backend::host::{allowed_cores, first_cores, host_cores, original_cores, pin_process};

#[test]
fn every_thread_of_the_process_runs_on_the_pinned_cores() {
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
