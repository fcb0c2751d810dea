//! `runner tune` end to end on a small learnable synthetic MNIST (seconds): the convergence
//! file, reruns, shards, and bad input refused in one line with nothing written.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::Path;
use std::process::{Command, Output};

use assert_cmd::prelude::*;

const HEADER: &str = "dataset,hidden_units,target_accuracy,batch_size,learning_rate,seed,\
                      images_to_target,epochs_run,epoch_images,best_accuracy,eval_every,version";

/// A folder with a learnable synthetic MNIST of 300 training and 100 test images.
fn synthetic_mnist() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    replay_mnist::testutil::write_mnist_dir(dir.path(), 300, 100, true, true);
    dir
}

/// `runner tune --data-dir DATA --out OUT --epochs 4 ARGS` (and `--hidden-units 16` unless
/// `ARGS` give it).
fn tune(data: &Path, out: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::cargo_bin("runner").expect("the runner binary is built");
    cmd.env_remove("MNIST_DIR")
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("SLURM_ARRAY_TASK_MIN")
        .env_remove("SLURM_ARRAY_TASK_COUNT")
        .env_remove("SLURM_ARRAY_TASK_STEP")
        .arg("tune")
        .arg("--data-dir")
        .arg(data)
        .arg("--out")
        .arg(out)
        .args(["--epochs", "4"])
        .args(args);
    if !args.contains(&"--hidden-units") {
        cmd.args(["--hidden-units", "16"]);
    }
    cmd
}

fn run(mut cmd: Command) -> (Output, String) {
    let output = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

/// The convergence file's lines.
fn lines(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out.join("convergence.csv"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// A row's cell by column name.
fn cell<'a>(line: &'a str, name: &str) -> &'a str {
    let at = HEADER.split(',').position(|h| h == name).unwrap();
    line.split(',').nth(at).unwrap()
}

#[test]
fn a_tune_writes_a_row_per_run_prints_the_best_rates_and_a_rerun_makes_none_again() {
    let data = synthetic_mnist();
    let out = tempfile::tempdir().unwrap();
    let out = out.path().join("tuned");
    let args = [
        "--target-accuracy",
        "90%",
        "--batch-sizes",
        "4,1",
        "--learning-rates",
        "0.8,3.2",
        "--seeds",
        "3",
    ];
    let (output, stdout) = run(tune(data.path(), &out, &args));
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The estimate first, a line per pair, the table.
    let first = stdout.lines().next().unwrap();
    assert!(
        first.starts_with("tune mnist, 16 hidden units, target 90 %: batch sizes 1, 4, 3 seeds"),
        "{first}"
    );
    assert!(
        first.contains("evaluated every 30 of 300 training images"),
        "{first}"
    );
    assert!(
        stdout.contains("batch 1, rate 0.1: images to 90 %:"),
        "{stdout}"
    );
    assert!(
        stdout.contains("time to 90 % test accuracy: mnist, 16 hidden units"),
        "{stdout}"
    );
    assert!(
        stdout.contains("the study's batch size 1 and rate 0.1:"),
        "{stdout}"
    );
    let rows = lines(&out);
    assert_eq!(rows[0], HEADER);
    // Batch 1: 0.1 (the study's, added), 0.8, 3.2; batch 4: 0.8, 3.2; 3 seeds each, less any
    // seed called off after two misses.
    let pairs: std::collections::BTreeSet<(String, String)> = rows[1..]
        .iter()
        .map(|r| {
            (
                cell(r, "batch_size").into(),
                cell(r, "learning_rate").into(),
            )
        })
        .collect();
    let expected = [
        ("1", "0.1"),
        ("1", "0.8"),
        ("1", "3.2"),
        ("4", "0.8"),
        ("4", "3.2"),
    ];
    let expected = expected.map(|(b, r)| (b.to_string(), r.to_string()));
    assert_eq!(pairs, expected.into_iter().collect());
    assert!((10..=15).contains(&(rows.len() - 1)), "{rows:?}");
    for row in &rows[1..] {
        assert_eq!(cell(row, "dataset"), "mnist");
        assert_eq!(cell(row, "target_accuracy"), "0.9");
        assert_eq!(cell(row, "epoch_images"), "300");
        assert_eq!(cell(row, "eval_every"), "30");
        if let Ok(images) = cell(row, "images_to_target").parse::<u64>() {
            let epochs: u64 = cell(row, "epochs_run").parse().unwrap();
            assert_eq!(images.div_ceil(300), epochs, "{row}");
            assert!(cell(row, "best_accuracy").parse::<f64>().unwrap() >= 0.9);
        } else {
            assert_eq!(cell(row, "epochs_run"), "4", "{row}");
        }
    }
    // Again: every run is held, none made, the same table.
    let (output, again) = run(tune(data.path(), &out, &args));
    assert!(output.status.success());
    assert!(again.contains("At least 0 runs to make"), "{again}");
    assert!(again.contains("0 runs made"), "{again}");
    assert_eq!(lines(&out), rows);
    let table = |s: &str| {
        s.lines()
            .skip_while(|l| !l.starts_with("time to"))
            .take_while(|l| !l.starts_with("tune done"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(table(&again), table(&stdout));
}

#[test]
fn a_search_finds_a_rate_per_batch_size_and_shards_split_the_batch_sizes() {
    let data = synthetic_mnist();
    let out = tempfile::tempdir().unwrap();
    let base = [
        "--target-accuracy",
        "90",
        "--batch-sizes",
        "1,8",
        "--seeds",
        "1",
    ];
    // Shard 1 of 2 by Slurm's variables: batch size 8 only.
    let mut cmd = tune(data.path(), out.path(), &base);
    cmd.env("SLURM_ARRAY_TASK_ID", "1")
        .env("SLURM_ARRAY_TASK_MIN", "0")
        .env("SLURM_ARRAY_TASK_COUNT", "2");
    let (output, stdout) = run(cmd);
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("batch sizes 8 (shard 1/2)"), "{stdout}");
    let rows = lines(out.path());
    assert!(
        rows[1..].iter().all(|r| cell(r, "batch_size") == "8"),
        "{rows:?}"
    );
    // Shard 0 of 2 by flag: batch size 1, from the study's rate.
    let mut args = base.to_vec();
    args.extend(["--shard", "0/2"]);
    let (output, stdout) = run(tune(data.path(), out.path(), &args));
    assert!(output.status.success(), "{stdout}");
    let rows = lines(out.path());
    let ones: Vec<&String> = rows[1..]
        .iter()
        .filter(|r| cell(r, "batch_size") == "1")
        .collect();
    assert!(
        ones.iter().any(|r| cell(r, "learning_rate") == "0.1"),
        "{rows:?}"
    );
    // The search measured the start and both neighbours at least, on the grid 0.1 x 2^k.
    assert!(ones.len() >= 3, "{rows:?}");
    for row in &rows[1..] {
        let rate: f64 = cell(row, "learning_rate").parse().unwrap();
        let steps = (rate / 0.1).log2();
        assert!((steps - steps.round()).abs() < 1e-9, "{row}");
    }
    // Both shards' batch sizes are in the file: the whole tune now makes no run.
    let (output, stdout) = run(tune(data.path(), out.path(), &base));
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("0 runs made"), "{stdout}");
    let table: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("time to"))
        .collect();
    assert!(
        table.iter().any(|l| l.trim_start().starts_with("1 ")),
        "{stdout}"
    );
    assert!(
        table.iter().any(|l| l.trim_start().starts_with("8 ")),
        "{stdout}"
    );
}

/// Runs `cmd`, which must fail with exit status 1 and one line on stderr holding `expected`.
fn fails_in_one_line(cmd: Command, expected: &str) {
    let (output, stdout) = run(cmd);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains(expected), "{stderr}");
}

#[test]
fn bad_input_fails_in_one_line_and_writes_nothing() {
    let data = synthetic_mnist();
    let out = tempfile::tempdir().unwrap();
    let fresh = out.path().join("fresh");
    for (target, expected) in [
        ("0", "'0' is not a target accuracy"),
        ("100%", "between 0 and 100"),
        ("101", "between 0 and 100"),
        ("high", "'high' is not a target accuracy"),
    ] {
        fails_in_one_line(
            tune(data.path(), &fresh, &["--target-accuracy", target]),
            expected,
        );
    }
    let eval = |every: &str| {
        tune(
            data.path(),
            &fresh,
            &["--target-accuracy", "90", "--eval-every", every],
        )
    };
    fails_in_one_line(eval("0"), "--eval-every: 0 is not a number of images");
    fails_in_one_line(
        eval("301"),
        "--eval-every: 301 images is more than an epoch's 300 training images",
    );
    assert!(!fresh.exists(), "nothing is written for bad input");

    // A convergence file of another dataset, width or target; a damaged one.
    let file = out.path().join("convergence.csv");
    let held = format!("{HEADER}\nmnist,16,0.9,1,0.1,1,60,1,300,0.93,30,0.3.0\n");
    let write = |text: &str| std::fs::write(&file, text).unwrap();
    let asked = |args: &[&str]| {
        let mut all = vec!["--batch-sizes", "1", "--seeds", "1"];
        if !args.contains(&"--target-accuracy") {
            all.extend(["--target-accuracy", "90"]);
        }
        all.extend_from_slice(args);
        tune(data.path(), out.path(), &all)
    };
    write(&held);
    fails_in_one_line(
        asked(&["--target-accuracy", "95"]),
        "holds mnist, 16 hidden units, target 90 % (line 2), not mnist, 16 hidden units, \
         target 95 %",
    );
    fails_in_one_line(asked(&["--hidden-units", "8"]), "not mnist, 8 hidden units");
    fails_in_one_line(
        asked(&["--dataset", "fashion-mnist"]),
        "not fashion-mnist, 16 hidden units",
    );
    fails_in_one_line(
        asked(&["--eval-every", "50"]),
        "holds runs with eval_every 30 (line 2), and this tune asks for 50",
    );
    write(&format!(
        "{held}mnist,16,0.9,1,0.2,1,sixty,1,300,0.93,30,0.3.0\n"
    ));
    fails_in_one_line(asked(&[]), "is damaged at line 3");
    write("config,epoch\n");
    fails_in_one_line(
        asked(&[]),
        "is damaged at line 1: the header is 'config,epoch'",
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "config,epoch\n");
}
