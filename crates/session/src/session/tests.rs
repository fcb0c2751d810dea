//! The session's tests: stops at every moment of a run, and runs with a target accuracy.
#![allow(clippy::unwrap_used)]
use std::path::Path;

use replay_platform::Overrides;
use replay_store::ResultRow;

use super::*;
use crate::{Options, target_summary};

/// When a test asks for a stop, as a Ctrl-C would.
#[derive(Debug, Clone, Copy)]
enum StopWhen {
    /// Once epoch `n` has been written: during its evaluation or just after it.
    Evaluated(usize),
    /// At the first progress report of epoch `n`, in the middle of its training.
    Training(usize),
}

/// Asks for a stop at one moment of a run.
struct StopAt<'a> {
    when: StopWhen,
    stop: &'a StopSignal,
}

impl Observer for StopAt<'_> {
    fn progress(&mut self, progress: &Progress) {
        if let StopWhen::Training(n) = self.when
            && progress.epoch == n
        {
            self.stop.request();
        }
    }

    fn epoch_finished(&mut self, row: &ResultRow, _epochs: usize) {
        if let StopWhen::Evaluated(n) = self.when
            && row.epoch as usize == n
        {
            self.stop.request();
        }
    }
}

/// Runs c1.4 on flex for 3 epochs of 2,100 images (batch 1, fused step: a chunk of
/// `FUSED_CHUNK_STEPS` = 2,048 steps, then one of 52), stopping at `when`; returns the rows
/// written.
fn run_stopped(when: StopWhen) -> Vec<ResultRow> {
    let data = tempfile::tempdir().unwrap();
    replay_mnist::testutil::write_mnist_dir(data.path(), 2100, 32, true, false);
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/c14.toml");
    let out = tempfile::tempdir().unwrap();
    let overrides = Overrides {
        epochs: Some(3),
        backend: Some(replay_core::BackendKind::Flex),
        ..Overrides::default()
    };
    let options = Options {
        data_dir: Some(data.path().to_path_buf()),
        out: out.path().to_path_buf(),
        ..Options::default()
    };
    let plan = Plan::resolve(&config, &overrides, options).unwrap();
    let mnist = plan.load_dataset().unwrap();
    let stop = StopSignal::new();
    let outcome = Session::open(&plan, &mnist)
        .unwrap()
        .run(
            WeightFiles::default(),
            &stop,
            &mut StopAt { when, stop: &stop },
        )
        .unwrap();
    assert!(outcome.interrupted, "{when:?}");
    replay_store::read_results(out.path()).unwrap().rows
}

#[test]
fn a_stop_during_an_evaluation_ends_the_run_at_that_epoch() {
    for (at, rows) in [(1, 1), (3, 3)] {
        let written = run_stopped(StopWhen::Evaluated(at));
        assert_eq!(written.len(), rows, "stopped after epoch {at}");
        assert!(
            written.iter().all(|r| r.status == replay_store::Status::Ok),
            "{written:?}"
        );
    }
}

#[test]
fn a_stop_during_training_writes_that_epoch_as_interrupted_and_unevaluated() {
    let written = run_stopped(StopWhen::Training(2));
    assert_eq!(written.len(), 2, "{written:?}");
    assert_eq!(written[0].status, replay_store::Status::Ok);
    assert!(written[0].test_accuracy.is_some());
    let last = &written[1];
    assert_eq!(
        (last.epoch, last.status),
        (2, replay_store::Status::Interrupted)
    );
    assert_eq!(last.samples, 2048, "the epoch ends after its first chunk");
    assert_eq!(
        last.test_accuracy, None,
        "an interrupted epoch is not evaluated"
    );
}

/// Runs c1.4 on flex over a learnable synthetic MNIST (600 training images, 100 test), batch
/// 1, for `epochs` epochs, evaluating every `eval_every` images, stopping at `target`; returns
/// the outcome and the rows written.
fn run_to(
    target: Option<&str>,
    eval_every: Option<usize>,
    epochs: u64,
) -> (Outcome, Vec<ResultRow>) {
    run_at(target, eval_every, epochs, None)
}

/// [`run_to`] at `learning_rate` (the configuration's when `None`).
fn run_at(
    target: Option<&str>,
    eval_every: Option<usize>,
    epochs: u64,
    learning_rate: Option<f64>,
) -> (Outcome, Vec<ResultRow>) {
    let data = tempfile::tempdir().unwrap();
    replay_mnist::testutil::write_mnist_dir(data.path(), 600, 100, true, true);
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/c14.toml");
    let out = tempfile::tempdir().unwrap();
    let overrides = Overrides {
        epochs: Some(epochs),
        backend: Some(replay_core::BackendKind::Flex),
        target_accuracy: target.map(|t| t.parse().unwrap()),
        eval_every,
        learning_rate,
        ..Overrides::default()
    };
    let options = Options {
        data_dir: Some(data.path().to_path_buf()),
        out: out.path().to_path_buf(),
        ..Options::default()
    };
    let plan = Plan::resolve(&config, &overrides, options).unwrap();
    let mnist = plan.load_dataset().unwrap();
    let outcome = Session::open(&plan, &mnist)
        .unwrap()
        .run(WeightFiles::default(), &StopSignal::new(), &mut NoObserver)
        .unwrap();
    (
        outcome,
        replay_store::read_results(out.path()).unwrap().rows,
    )
}

#[test]
fn evaluations_every_n_images_write_a_row_per_span_that_add_up_to_the_epochs() {
    let (outcome, rows) = run_to(None, Some(250), 2);
    // 600 images an epoch, every 250 across epochs: 250, 500, 600 | 750, 1000, 1200.
    let images: Vec<u64> = rows.iter().map(|r| r.images.unwrap()).collect();
    assert_eq!(images, [250, 500, 600, 750, 1000, 1200]);
    let epochs: Vec<u32> = rows.iter().map(|r| r.epoch).collect();
    assert_eq!(epochs, [1, 1, 1, 2, 2, 2]);
    let samples: Vec<u64> = rows.iter().map(|r| r.samples).collect();
    assert_eq!(samples, [250, 250, 100, 150, 250, 200]);
    let mut train_s = 0.0;
    for row in &rows {
        train_s += row.wall_s;
        assert!((row.train_s.unwrap() - train_s).abs() < 1e-9, "{row:?}");
        assert!(row.eval_s.is_some() && row.test_accuracy.is_some());
        assert_eq!((row.target_accuracy, row.target_reached), (None, None));
        assert_eq!(row.status, replay_store::Status::Ok);
    }
    assert!((outcome.wall_s - train_s).abs() < 1e-9);
    assert_eq!(outcome.target, None);
    // The same run evaluated once an epoch ends at the same accuracy: spans change nothing.
    let (_, whole) = run_to(None, None, 2);
    assert_eq!(whole.len(), 2);
    assert_eq!(whole[1].test_accuracy, rows[5].test_accuracy);
}

#[test]
fn a_run_with_a_target_stops_at_the_first_evaluation_that_reaches_it() {
    let (_, free) = run_to(None, Some(100), 3);
    let accuracies: Vec<f64> = free.iter().map(|r| r.test_accuracy.unwrap()).collect();
    // A target some later evaluation reaches and the first does not.
    let (first, best) = (
        accuracies[0],
        accuracies.iter().copied().fold(0.0, f64::max),
    );
    assert!(
        best > first,
        "the synthetic set is learnable: {accuracies:?}"
    );
    let target = (first + best) / 2.0;
    let at = accuracies.iter().position(|&a| a >= target).unwrap();
    let (outcome, rows) = run_to(Some(&format!("{}", target * 100.0)), Some(100), 3);
    assert_eq!(
        rows.len(),
        at + 1,
        "stops at the first evaluation >= {target}"
    );
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.test_accuracy, Some(accuracies[i]));
        assert_eq!(row.target_reached, Some(i == at));
        assert!((row.target_accuracy.unwrap() - target).abs() < 1e-12);
    }
    let reached = outcome.target.unwrap();
    assert!(reached.reached);
    assert_eq!(reached.images, rows[at].images.unwrap());
    assert_eq!(reached.train_s, rows[at].train_s.unwrap());
    let cost: f64 = rows.iter().map(|r| r.cost).sum();
    assert!((reached.cost - cost).abs() < 1e-12);
    assert!(target_summary(&reached, 3).starts_with("reached "));
}

#[test]
fn a_target_missed_is_a_result_with_every_epoch_run() {
    // At a rate this small the network stays near chance: the target is out of reach.
    let (outcome, rows) = run_at(Some("99.999"), None, 2, Some(1e-6));
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.target_reached == Some(false)));
    let missed = outcome.target.unwrap();
    assert!(!missed.reached && !outcome.interrupted);
    assert_eq!((missed.images, missed.epochs_run), (1200, 2));
    let best = rows
        .iter()
        .filter_map(|r| r.test_accuracy)
        .fold(0.0, f64::max);
    assert_eq!(missed.best_accuracy, Some(best));
    let line = target_summary(&missed, 2);
    assert!(
        line.starts_with("did not reach 99.999 % in 2 epochs (best "),
        "{line}"
    );
}

#[test]
fn an_interval_longer_than_an_epoch_is_refused_before_anything_is_written() {
    let data = tempfile::tempdir().unwrap();
    replay_mnist::testutil::write_mnist_dir(data.path(), 50, 10, true, false);
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/c14.toml");
    let out = tempfile::tempdir().unwrap();
    let overrides = Overrides {
        backend: Some(replay_core::BackendKind::Flex),
        eval_every: Some(51),
        ..Overrides::default()
    };
    let options = Options {
        data_dir: Some(data.path().to_path_buf()),
        out: out.path().to_path_buf(),
        ..Options::default()
    };
    let plan = Plan::resolve(&config, &overrides, options).unwrap();
    let mnist = plan.load_dataset().unwrap();
    let err = Session::open(&plan, &mnist).unwrap_err().to_string();
    assert!(
        err.contains("--eval-every 51 is more than the 50 images"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(out.path()).unwrap().count(), 0);
}
