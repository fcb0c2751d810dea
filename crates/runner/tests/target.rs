//! `runner` with a target accuracy, evaluation spans and learning-rate axes, end to end on a
//! small learnable synthetic MNIST that every checkout can make.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::prelude::*;
use predicates::prelude::*;
use replay_store::{ResultRow, read_results};

fn config(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../configs")
        .join(name)
}

/// A folder with a learnable synthetic MNIST of 600 training and 200 test images.
fn synthetic_mnist() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    replay_mnist::testutil::write_mnist_dir(dir.path(), 600, 200, true, true);
    dir
}

fn runner() -> Command {
    let mut cmd = Command::cargo_bin("runner").expect("the runner binary is built");
    cmd.env_remove("CUBECL_WGPU_DEFAULT_DEVICE")
        .env_remove("MNIST_DIR");
    cmd
}

/// `runner [sub] <args> --data-dir DATA --out OUT --quiet`.
fn runner_with(args: &[&str], data: &Path, out: &Path) -> Command {
    let mut cmd = runner();
    cmd.args(args)
        .arg("--data-dir")
        .arg(data)
        .arg("--out")
        .arg(out)
        .arg("--quiet");
    cmd
}

fn rows(out: &Path) -> Vec<ResultRow> {
    read_results(out).unwrap().rows
}

/// A one-line error (`error: ...` or clap's `...; see runner --help`), no panic.
fn one_line() -> impl Predicate<str> {
    predicate::function(|text: &str| text.trim_end().lines().count() == 1)
        .and(predicate::str::contains("panicked").not())
}

#[test]
fn a_run_stops_at_its_target_and_its_rows_say_so() {
    let (data, out) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    let c14 = config("c14.toml");
    let args = [
        "--config",
        c14.to_str().unwrap(),
        "--backend",
        "flex",
        "--epochs",
        "10",
        "--target-accuracy",
        "60%",
        "--eval-every",
        "100",
    ];
    let summary = r"reached 60 % after [\d,]+ images \([\d.]+ epochs\) in .* of training \(.* evaluating\); cost [\d.]+ RUB";
    runner_with(&args, data.path(), out.path())
        .assert()
        .success()
        .stdout(predicate::str::is_match(summary).unwrap());
    let rows = rows(out.path());
    let last = rows.last().unwrap();
    assert_eq!(last.target_reached, Some(true));
    assert!(last.test_accuracy.unwrap() >= 0.6);
    assert!(rows.len() < 60, "stopped early: {} rows", rows.len());
    for row in &rows[..rows.len() - 1] {
        assert_eq!(row.target_reached, Some(false));
        assert!(row.test_accuracy.unwrap() < 0.6);
        assert_eq!(row.target_accuracy, Some(0.6));
    }
    let images: Vec<u64> = rows.iter().map(|r| r.images.unwrap()).collect();
    let every_100: Vec<u64> = (1..=rows.len() as u64).map(|k| 100 * k).collect();
    assert_eq!(images, every_100);
}

#[test]
fn a_missed_target_is_a_result_not_an_error() {
    let (data, out) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    let c14 = config("c14.toml");
    // Two epochs of 64 images at the study's rate learn little: 99.99 % stays out of reach.
    let args = [
        "--config",
        c14.to_str().unwrap(),
        "--backend",
        "flex",
        "--epochs",
        "2",
        "--limit",
        "64",
    ];
    runner_with(&args, data.path(), out.path())
        .args(["--target-accuracy", "99.99"])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "did not reach 99.99 % in 2 epochs (best ",
        ));
    let rows = rows(out.path());
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.target_reached == Some(false)));
}

#[test]
fn bad_targets_and_intervals_fail_in_one_line_and_write_nothing() {
    let data = synthetic_mnist();
    let c14 = config("c14.toml");
    for (flag, value, says) in [
        ("--target-accuracy", "0", "not a target accuracy"),
        ("--target-accuracy", "100", "between 0 and 100"),
        ("--target-accuracy=-3", "", "not a target accuracy"),
        ("--target-accuracy", "ninety", "not a target accuracy"),
        ("--eval-every", "0", "--eval-every"),
        (
            "--eval-every",
            "601",
            "--eval-every 601 is more than the 600 images",
        ),
    ] {
        let out = tempfile::tempdir().unwrap();
        let config_args = ["--config", c14.to_str().unwrap()];
        let mut cmd = runner_with(&config_args, data.path(), out.path());
        cmd.args(["--backend", "flex", flag]);
        if !value.is_empty() {
            cmd.arg(value);
        }
        cmd.assert()
            .code(1)
            .stderr(one_line().and(predicate::str::contains(says)));
        let written = std::fs::read_dir(out.path()).unwrap().count();
        assert_eq!(written, 0, "{flag} {value}");
    }
}

#[test]
fn the_target_can_be_set_in_the_configuration_file() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(config("c14.toml")).unwrap();
    for (value, valid) in [
        ("94", true),
        ("\"94.5%\"", true),
        ("100", false),
        ("\"x\"", false),
    ] {
        let path = dir.path().join("c14.toml");
        let edited = text.replacen(
            "[run]",
            &format!("[run]\ntarget_accuracy = {value}\neval_every = 6000"),
            1,
        );
        std::fs::write(&path, edited).unwrap();
        let check = runner().arg("check").arg(&path).assert();
        if valid {
            check.success();
        } else {
            check
                .code(1)
                .stdout(predicate::str::contains("run.target_accuracy"));
        }
    }
}

#[test]
fn a_bigger_batch_at_the_studys_rate_gets_a_hint() {
    let (data, out) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    let c14 = config("c14.toml");
    let args = ["--config", c14.to_str().unwrap(), "--backend", "flex"];
    runner_with(&args, data.path(), out.path())
        .args(["--batch-size", "32", "--limit", "64"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "rate 0.1 is the study's rate for batch size 1",
        ))
        .stderr(predicate::str::contains(
            "runner tune --dataset mnist --hidden-units 28 --batch-sizes 32",
        ));
    runner_with(&args, data.path(), out.path())
        .args([
            "--batch-size",
            "32",
            "--learning-rate",
            "8",
            "--limit",
            "64",
        ])
        .assert()
        .success()
        .stderr(predicate::str::contains("study's rate").not());
}

/// A convergence file for MNIST, 28 units, 94 %: batch 32 converges fastest at rate 16.
fn convergence_file(dir: &Path) -> PathBuf {
    let mut text = String::from(
        "dataset,hidden_units,target_accuracy,batch_size,learning_rate,seed,images_to_target,\
         epochs_run,epoch_images,best_accuracy,eval_every,version\n",
    );
    for (batch, rate, images) in [(1, 0.1, 360_000), (32, 8.0, 180_000), (32, 16.0, 120_000)] {
        for seed in 1..=3 {
            text.push_str(&format!(
                "mnist,28,0.94,{batch},{rate},{seed},{images},{},60000,0.95,6000,test\n",
                images / 60_000
            ));
        }
    }
    let path = dir.join("convergence.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn a_sweep_runs_each_learning_rate_or_each_batch_sizes_tuned_one() {
    let (data, out) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    let c14 = config("c14.toml");
    let sweep = [
        "sweep",
        c14.to_str().unwrap(),
        "--backend",
        "flex",
        "--limit",
        "64",
    ];
    runner_with(&sweep, data.path(), out.path())
        .args(["--batch-sizes", "32", "--learning-rates", "0.5,2"])
        .assert()
        .success();
    let rates: Vec<f64> = rows(out.path()).iter().map(|r| r.learning_rate).collect();
    assert_eq!(rates, [0.5, 2.0]);

    let tuned_out = tempfile::tempdir().unwrap();
    let file = convergence_file(tuned_out.path());
    runner_with(&sweep, data.path(), tuned_out.path())
        .args(["--batch-sizes", "1,32", "--learning-rates", "tuned"])
        .assert()
        .success();
    let runs: Vec<(u32, f64)> = rows(tuned_out.path())
        .iter()
        .map(|r| (r.batch_size, r.learning_rate))
        .collect();
    assert_eq!(runs, [(1, 0.1), (32, 16.0)]);

    // A batch size the file has no rate for, no file, 'tuned' in a list: one line, nothing run.
    let cases: [(&[&str], &str); 3] = [
        (
            &["--batch-sizes", "64", "--learning-rates", "tuned"],
            "no converged learning rate for mnist, 28 hidden units, batch size 64",
        ),
        (
            &["--learning-rates", "tuned", "--convergence", "no/such.csv"],
            "holds no convergence runs",
        ),
        (&["--learning-rates", "tuned,2"], "'tuned' stands alone"),
    ];
    for (extra, says) in cases {
        let empty = tempfile::tempdir().unwrap();
        let mut cmd = runner_with(&sweep, data.path(), empty.path());
        if !extra.contains(&"--convergence") {
            cmd.arg("--convergence").arg(&file);
        }
        cmd.args(extra)
            .assert()
            .code(1)
            .stderr(one_line().and(predicate::str::contains(says)));
        let written = std::fs::read_dir(empty.path()).unwrap().count();
        assert_eq!(written, 0, "{extra:?}");
    }
}
