//! `runner advise` end to end, on a hand-made convergence file and results folder (and, for
//! `--measure`, a small synthetic MNIST): no real data, no long training.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::prelude::*;
use predicates::prelude::*;
use replay_store::HEADER;
use replay_tune::convergence::CONVERGENCE_HEADER;

fn config(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../configs")
        .join(name)
}

fn runner() -> Command {
    let mut cmd = Command::cargo_bin("runner").expect("the runner binary is built");
    cmd.env_remove("CUBECL_WGPU_DEFAULT_DEVICE")
        .env_remove("MNIST_DIR");
    cmd
}

/// Writes `dir/convergence.csv`: its header, then `rows`.
fn write_convergence(dir: &Path, rows: &[&str]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("convergence.csv");
    let mut text = CONVERGENCE_HEADER.join(",") + "\n";
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// MNIST at 28 units to 94 %: batch 1 at the study's rate 0.1 in 90,000 images (1.5 epochs),
/// batch 32 at rate 8 in 120,000 (its slowest seed 130,000).
const SCORES_94: &[&str] = &[
    "mnist,28,0.94,1,0.1,1,90000,2,60000,0.95,1000,v",
    "mnist,28,0.94,1,0.1,2,90000,2,60000,0.95,1000,v",
    "mnist,28,0.94,32,8,1,120000,3,60000,0.95,1000,v",
    "mnist,28,0.94,32,8,2,130000,3,60000,0.95,1000,v",
    "mnist,28,0.94,32,8,3,110000,3,60000,0.95,1000,v",
];

/// One results row of `config` (threads as the configuration asks), as `runner` writes it.
fn result_row(
    config: &str,
    threads: u32,
    run: &str,
    batch: u32,
    epoch: u32,
    wall_s: f64,
) -> String {
    let samples = 60_000u64;
    let cell = |column: &str| -> String {
        match column {
            "run_id" => run.to_owned(),
            "started_utc" => "2025-01-31T12:00:00Z".to_owned(),
            "config" => config.to_owned(),
            "platform" => "Yandex DataSphere".to_owned(),
            "implementation" => "burn".to_owned(),
            "step" => "fused".to_owned(),
            "order" => "shuffled".to_owned(),
            "init_weights" => "seeded".to_owned(),
            "backend" => "flex".to_owned(),
            "device" => "cpu".to_owned(),
            "threads_requested" => threads.to_string(),
            "threads_used" => "2".to_owned(),
            "throttle_method" => "none".to_owned(),
            "ram_gb" => "32".to_owned(),
            "peak_rss_mib" => "100".to_owned(),
            "ram_exceeded" => "false".to_owned(),
            "dataset" => "mnist".to_owned(),
            "hidden_units" => "28".to_owned(),
            "batch_size" => batch.to_string(),
            "learning_rate" => "0.1".to_owned(),
            "seed" => "42".to_owned(),
            "epoch" => epoch.to_string(),
            "samples" => samples.to_string(),
            "wall_s" | "train_s" | "user_s" => wall_s.to_string(),
            "sys_s" | "eval_s" => "0.1".to_owned(),
            "samples_per_s" => (samples as f64 / wall_s).to_string(),
            "train_loss" | "test_loss" => "0.01".to_owned(),
            "train_accuracy" | "test_accuracy" => "0.92".to_owned(),
            "images" => (u64::from(epoch) * samples).to_string(),
            "billing" | "price_source" | "host_cpu" | "version" => "x".to_owned(),
            "cost" => "0.01".to_owned(),
            "currency" => "RUB".to_owned(),
            "host_cores" => "2".to_owned(),
            "status" => "ok".to_owned(),
            "gpu_share" | "cost_background" | "target_accuracy" | "target_reached" => String::new(),
            other => panic!("no test value for results column '{other}'"),
        }
    };
    HEADER.iter().map(|c| cell(c)).collect::<Vec<_>>().join(",")
}

/// A results folder: c1.4 (4 vCPUs) timed at batch 1 (2 s, then 1 s an epoch: 60,000
/// images/s after a 1 s warm-up) and batch 32 (0.5 s, then 0.25 s: 240,000 images/s after
/// 0.25 s); c1.32 (32 vCPUs) at batch 32 (0.3 s, then 0.2 s: 300,000 images/s after 0.1 s).
fn write_results(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let header = HEADER.join(",");
    let c14 = [
        result_row("c1.4", 4, "a", 1, 1, 2.0),
        result_row("c1.4", 4, "a", 1, 2, 1.0),
        result_row("c1.4", 4, "b", 32, 1, 0.5),
        result_row("c1.4", 4, "b", 32, 2, 0.25),
    ];
    let c132 = [
        result_row("c1.32", 32, "c", 32, 1, 0.3),
        result_row("c1.32", 32, "c", 32, 2, 0.2),
    ];
    for (name, rows) in [("c1.4.csv", &c14[..]), ("c1.32.csv", &c132[..])] {
        std::fs::write(dir.join(name), format!("{header}\n{}\n", rows.join("\n"))).unwrap();
    }
}

/// `runner advise configs/c14.toml configs/c132.toml --target-accuracy 94% --results R
/// --out O`, ready for more flags.
fn advise(results: &Path, out: &Path) -> Command {
    let mut cmd = runner();
    cmd.arg("advise")
        .arg(config("c14.toml"))
        .arg(config("c132.toml"))
        .args(["--target-accuracy", "94%", "--results"])
        .arg(results)
        .arg("--out")
        .arg(out);
    cmd
}

#[test]
fn ranks_configurations_by_predicted_time_and_writes_the_advice_beside_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let (results, out) = (dir.path().join("results"), dir.path().join("report"));
    write_results(&results);
    write_convergence(&results, SCORES_94);
    let output = advise(&results, &out).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        "advice for mnist, 28 hidden units, target 94 %, ranked by predicted time"
    );
    // c1.32 at batch 32: 0.1 s + 120,000 / 300,000 = 500 ms, x 32 units x 0.0012 RUB/s.
    assert!(
        lines[2].starts_with("c1.32 ") && lines[2].ends_with('✔'),
        "{stdout}"
    );
    assert!(
        lines[2].contains("500 ms") && lines[2].contains("0.0192 RUB"),
        "{stdout}"
    );
    assert!(
        lines[2].contains("not measured"),
        "c1.32 has no batch-1 rows: {stdout}"
    );
    // c1.4 at batch 32: 0.25 + 0.5 = 750 ms; beside it the study's choice: 1 + 1.5 = 2.50 s.
    assert!(
        lines[3].starts_with("c1.4 ") && lines[3].contains("750 ms"),
        "{stdout}"
    );
    assert!(lines[3].contains("2.50 s, 0.0120 RUB"), "{stdout}");
    assert!(
        lines[4].starts_with("c1.4 ") && lines[4].contains("2.50 s"),
        "{stdout}"
    );
    let train = format!(
        "train it: runner --config {} --dataset mnist --hidden-units 28 --batch-size 32 \
         --learning-rate 8 --target-accuracy 94 --eval-every 1000 --epochs 4 --out {}",
        config("c132.toml").display(),
        results.display()
    );
    assert!(stdout.contains(&train), "{stdout}");
    let sweep = format!(
        "  c1.32 at batch 1: runner sweep {} --dataset mnist --hidden-units 28 --batch-sizes 1 \
         --epochs 2 --out {}",
        config("c132.toml").display(),
        results.display()
    );
    assert!(stdout.contains(&sweep), "{stdout}");
    let csv = std::fs::read_to_string(out.join("advice.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 4, "{csv}");
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .contains("predicted_time_s,predicted_cost,currency")
    );
    let md = std::fs::read_to_string(out.join("advice.md")).unwrap();
    assert!(
        md.starts_with("# Advice: mnist, 28 hidden units, target 94 %"),
        "{md}"
    );
    assert!(
        md.contains("| c1.32 | Yandex DataSphere | 32 vCPUs | flex | 32 | 8 |"),
        "{md}"
    );
}

#[test]
fn ranks_by_cost_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let (results, out) = (dir.path().join("results"), dir.path().join("report"));
    write_results(&results);
    write_convergence(&results, SCORES_94);
    // c1.4 at batch 32 costs 0.75 s x 0.0048 = 0.0036 RUB, less than c1.32's 0.0192.
    advise(&results, &out)
        .args(["--by", "cost"])
        .assert()
        .success()
        .stdout(predicate::str::contains("ranked by predicted cost"))
        .stdout(predicate::str::is_match(r"\nc1\.4 .*0\.00360 RUB.*✔\n").unwrap());
}

/// Runs `cmd`, expecting it to fail with one line on stderr that holds `wanted`, and `out`
/// not to have been created.
fn fails_with(mut cmd: Command, wanted: &str, out: &Path) {
    let output = cmd.output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(!output.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(wanted), "{stderr}");
    assert!(!out.exists(), "nothing is written on bad input");
}

#[test]
fn fails_with_one_line_naming_runner_tune_without_a_convergence_file() {
    let dir = tempfile::tempdir().unwrap();
    let (results, out) = (dir.path().join("results"), dir.path().join("report"));
    write_results(&results);
    fails_with(
        advise(&results, &out),
        "`runner tune --dataset mnist --hidden-units 28 --target-accuracy 94 --out",
        &out,
    );
}

#[test]
fn fails_with_one_line_when_the_convergence_file_is_for_another_model_or_target() {
    let dir = tempfile::tempdir().unwrap();
    let (results, out) = (dir.path().join("results"), dir.path().join("report"));
    write_results(&results);
    for (row, holds) in [
        (
            "fashion-mnist,28,0.94,1,0.1,1,90000,2,60000,0.95,1000,v",
            "holds fashion-mnist, 28",
        ),
        (
            "mnist,128,0.94,1,0.1,1,90000,2,60000,0.95,1000,v",
            "holds mnist, 128 hidden units",
        ),
        (
            "mnist,28,0.85,1,0.1,1,90000,2,60000,0.95,1000,v",
            "target 85 %, not mnist, 28",
        ),
    ] {
        write_convergence(&results, &[row]);
        fails_with(advise(&results, &out), holds, &out);
    }
}

#[test]
fn fails_with_one_line_when_the_convergence_file_is_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let (results, out) = (dir.path().join("results"), dir.path().join("report"));
    write_results(&results);
    write_convergence(
        &results,
        &["mnist,28,0.94,1,fast,1,90000,2,60000,0.95,1000,v"],
    );
    fails_with(advise(&results, &out), "is damaged at line 2", &out);
    std::fs::write(results.join("convergence.csv"), "not,a,convergence,file\n").unwrap();
    fails_with(advise(&results, &out), "is damaged at line 1", &out);
}

#[test]
fn fails_with_one_line_naming_runner_sweep_without_any_throughput() {
    let dir = tempfile::tempdir().unwrap();
    let (results, out) = (dir.path().join("results"), dir.path().join("report"));
    let convergence = write_convergence(&dir.path().join("tuned"), SCORES_94);
    let mut cmd = advise(&results, &out);
    cmd.arg("--convergence")
        .arg(&convergence)
        .args(["--measure-images", "5000"]);
    let sweep = format!(
        "`runner sweep {} --dataset mnist --hidden-units 28 --batch-sizes 1,32 --epochs 2 \
         --limit 5000 --out {}",
        config("c14.toml").display(),
        results.display()
    );
    fails_with(cmd, &sweep, &out);
}

#[test]
fn refuses_a_target_that_is_not_a_percentage_between_0_and_100() {
    for bad in ["100", "0", "94x", "101%"] {
        runner()
            .args(["advise", "--target-accuracy", bad])
            .assert()
            .failure()
            .stderr(predicate::str::contains(
                "expected a percentage between 0 and 100",
            ));
    }
}

#[test]
fn measures_the_missing_timing_runs_itself_with_measure() {
    let dir = tempfile::tempdir().unwrap();
    let (results, out, data) = (
        dir.path().join("results"),
        dir.path().join("report"),
        dir.path().join("mnist"),
    );
    replay_mnist::testutil::write_mnist_dir(&data, 600, 200, true, true);
    write_convergence(&results, SCORES_94);
    let mut cmd = runner();
    cmd.arg("advise")
        .arg(config("c14.toml"))
        .args([
            "--target-accuracy",
            "94",
            "--measure",
            "--measure-images",
            "300",
            "--quiet",
        ])
        .arg("--results")
        .arg(&results)
        .arg("--out")
        .arg(&out)
        .arg("--data-dir")
        .arg(&data);
    let output = cmd.output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("measuring 2 timing runs (2 epochs of 300 images each)"),
        "{stdout}"
    );
    assert!(stdout.contains("train it: runner --config"), "{stdout}");
    assert!(!stdout.contains("not measured"), "{stdout}");
    // Two runs of two epochs each, as the configuration replays by default.
    let rows = std::fs::read_to_string(results.join("c1.4.csv")).unwrap();
    assert_eq!(rows.lines().count(), 1 + 4, "{rows}");
    assert!(out.join("advice.csv").is_file() && out.join("advice.md").is_file());
}
