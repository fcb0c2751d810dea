//! The `runner` binary, end to end, on real MNIST (`MNIST_DIR`) and small `--limit` runs.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::prelude::*;
use predicates::prelude::*;
use replay_report::HEADER;

fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

fn config(name: &str) -> PathBuf {
    configs().join(name)
}

/// `MNIST_DIR`, or `None` (with a note) when it is unset; CI always sets it.
fn mnist_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("MNIST_DIR").map(PathBuf::from);
    if dir.is_none() {
        eprintln!("note: MNIST_DIR is not set; skipping a test that trains on real MNIST");
    }
    dir
}

fn runner() -> Command {
    let mut cmd = Command::cargo_bin("runner").expect("the runner binary is built");
    cmd.env_remove("CUBECL_WGPU_DEFAULT_DEVICE");
    cmd
}

/// `runner --config configs/<name> --data-dir DATA --out OUT`, ready for more flags.
fn replay(name: &str, data: &Path, out: &Path) -> Command {
    let mut cmd = runner();
    cmd.arg("--config")
        .arg(config(name))
        .arg("--data-dir")
        .arg(data)
        .arg("--out")
        .arg(out);
    cmd
}

/// The index of a results column by name.
fn col(name: &str) -> usize {
    HEADER
        .iter()
        .position(|h| *h == name)
        .expect("a results column")
}

fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_path(path)
        .expect("csv");
    reader
        .records()
        .map(|r| {
            r.expect("whole record")
                .iter()
                .map(str::to_string)
                .collect()
        })
        .collect()
}

fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

#[test]
fn check_accepts_every_shipped_configuration() {
    runner()
        .arg("check")
        .args(
            std::fs::read_dir(configs())
                .unwrap()
                .map(|e| e.unwrap().path()),
        )
        .assert()
        .success()
        .stdout(predicate::str::contains("15 configuration files are valid"));
}

#[test]
fn fails_with_a_clear_error_when_the_config_has_an_unknown_key() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(config("c14.toml"))
        .unwrap()
        .replace("[run]", "[run]\nturbo = true");
    let path = write_config(dir.path(), "bad.toml", &text);
    runner()
        .arg("check")
        .arg(&path)
        .assert()
        .failure()
        .stdout(predicate::str::contains("bad.toml").and(predicate::str::contains("run.turbo")));
    runner()
        .arg("--config")
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("error: ").and(predicate::str::contains("run.turbo")))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn fails_with_a_clear_error_when_the_config_file_is_missing() {
    runner()
        .args(["--config", "no/such/config.toml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no/such/config.toml"));
}

#[test]
fn fails_with_a_clear_error_for_an_impossible_value() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(config("c14.toml"))
        .unwrap()
        .replace("vcpus = 4", "vcpus = 0");
    let path = write_config(dir.path(), "zero.toml", &text);
    runner()
        .arg("--config")
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("hardware.vcpus"));
}

#[test]
fn bad_flags_fail_cleanly() {
    let c14 = config("c14.toml");
    let cases: [(&[&str], &str); 6] = [
        (
            &["--backend", "cuda2"],
            "unknown backend 'cuda2'; expected one of: flex, ndarray, wgpu",
        ),
        (&["--gpu-share", "1.5"], "expected a number in (0, 1]"),
        (
            &["--implementation", "keras"],
            "expected one of: burn, manual",
        ),
        (&["--order", "random"], "expected one of: shuffled, file"),
        (&["--threads", "0"], "--threads"),
        (&["--epochs", "x"], "--epochs"),
    ];
    for (flags, message) in cases {
        runner()
            .arg("--config")
            .arg(&c14)
            .args(flags)
            .assert()
            .failure()
            .stderr(predicate::str::contains(message))
            .stderr(predicate::str::contains("panicked").not());
    }
    runner()
        .assert()
        .failure()
        .stderr(predicate::str::contains("--config"));
}

#[test]
fn a_backend_that_is_not_compiled_in_names_the_feature() {
    if cfg!(feature = "wgpu") {
        return; // compiled in: nothing to check here
    }
    runner()
        .args(["--config"])
        .arg(config("g2mig.toml"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "backend 'wgpu' is not compiled in; rebuild with --features wgpu",
        ));
}

#[test]
fn a_small_run_writes_the_exact_header_and_one_row_per_epoch_and_appends() {
    let Some(data) = mnist_dir() else { return };
    let out = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        replay("c14.toml", &data, out.path())
            .args(["--limit", "300", "--epochs", "2", "--threads", "2"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Wall time:"))
            .stdout(predicate::str::contains("CPU times: user"));
    }
    let rows = read_csv(&out.path().join("c1.4.csv"));
    assert_eq!(
        rows[0],
        HEADER.iter().map(|h| h.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(
        rows.len(),
        1 + 4,
        "one header and one row per epoch of the two runs"
    );
    for row in &rows[1..] {
        assert_eq!(row.len(), HEADER.len());
        assert_eq!(row[col("config")], "c1.4");
        assert_eq!(row[col("implementation")], "burn");
        assert_eq!(row[col("samples")], "300");
        assert_eq!(row[col("status")], "ok");
        assert_eq!(row[col("threads_requested")], "2");
        for name in [
            "wall_s",
            "user_s",
            "sys_s",
            "samples_per_s",
            "peak_rss_mib",
            "cost",
            "test_accuracy",
        ] {
            let value: f64 = row[col(name)]
                .parse()
                .unwrap_or_else(|_| panic!("{name} parses"));
            assert!(value.is_finite() && value >= 0.0, "{name} = {value}");
        }
        let accuracy: f64 = row[col("test_accuracy")].parse().unwrap();
        assert!(accuracy > 0.3, "300 images already beat chance: {accuracy}");
        let cost: f64 = row[col("cost")].parse().unwrap();
        let wall: f64 = row[col("wall_s")].parse().unwrap();
        assert!(
            (cost - wall * 4.0 * 0.0012).abs() < 1e-9,
            "c1.4 bills 4 units x 0.0012 RUB/s"
        );
    }
    assert_eq!(rows[1][col("epoch")], "1");
    assert_eq!(rows[2][col("epoch")], "2");
    assert_ne!(rows[1][col("run_id")], rows[3][col("run_id")]);
}

#[test]
fn the_manual_rule_runs_and_repeats_print_a_summary() {
    let Some(data) = mnist_dir() else { return };
    let out = tempfile::tempdir().unwrap();
    replay("vk-standard-4-8.toml", &data, out.path())
        .args([
            "--implementation",
            "manual",
            "--limit",
            "500",
            "--repeat",
            "3",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("3 runs: wall time median"));
    let rows = read_csv(&out.path().join("standard-4-8.csv"));
    assert_eq!(rows.len(), 4);
    assert!(
        rows[1..]
            .iter()
            .all(|r| r[col("implementation")] == "manual")
    );
    assert!(rows[1..].iter().all(|r| r[col("backend")] == "plain-rust"));
}

#[test]
fn the_manual_rule_on_a_gpu_configuration_runs_on_the_cpu_unthrottled() {
    let Some(data) = mnist_dir() else { return };
    let out = tempfile::tempdir().unwrap();
    replay("g2mig.toml", &data, out.path())
        .args(["--implementation", "manual", "--limit", "500"])
        .assert()
        .success();
    let rows = read_csv(&out.path().join("g2.mig.csv"));
    assert_eq!(rows[1][col("backend")], "plain-rust");
    assert_eq!(rows[1][col("device")], "cpu");
    assert_eq!(rows[1][col("gpu_share")], "0.125");
    assert_eq!(rows[1][col("throttle_method")], "none (runs on the CPU)");
}

#[test]
fn a_different_header_is_never_appended_to() {
    let Some(data) = mnist_dir() else { return };
    let out = tempfile::tempdir().unwrap();
    let csv = out.path().join("c1.4.csv");
    std::fs::write(&csv, "some,other,tool\n1,2,3\n").unwrap();
    replay("c14.toml", &data, out.path())
        .args(["--limit", "10"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("c1.4.csv"));
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap(),
        "some,other,tool\n1,2,3\n"
    );
}

#[test]
fn weights_can_be_saved_and_loaded_back() {
    let Some(data) = mnist_dir() else { return };
    let out = tempfile::tempdir().unwrap();
    let weights = out.path().join("mlp.safetensors");
    let small = || {
        let mut cmd = replay("c14.toml", &data, out.path());
        cmd.args(["--limit", "200"]);
        cmd
    };
    small()
        .arg("--save-weights")
        .arg(&weights)
        .assert()
        .success();
    assert!(weights.is_file());
    small()
        .arg("--init-weights")
        .arg(&weights)
        .assert()
        .success();
    small()
        .arg("--init-weights")
        .arg(out.path().join("nope.safetensors"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nope.safetensors"));
}

#[test]
fn an_interrupted_run_leaves_a_valid_csv() {
    let Some(data) = mnist_dir() else { return };
    let out = tempfile::tempdir().unwrap();
    let mut child = replay("c14.toml", &data, out.path())
        .args(["--epochs", "50", "--quiet"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let csv = out.path().join("c1.4.csv");
    // Wait for the first epoch's row, then interrupt mid-way through a later epoch.
    let start = std::time::Instant::now();
    while read_rows_if_any(&csv) < 2 {
        assert!(
            start.elapsed().as_secs() < 120,
            "no epoch finished in 120 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SAFETY: kill(2) with our own child's pid and SIGINT has no memory effects.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let rows = read_csv(&csv);
    let last = rows.last().unwrap();
    assert_eq!(last.len(), HEADER.len());
    assert_eq!(last[HEADER.len() - 1], "interrupted");
    assert!(
        rows[1..rows.len() - 1]
            .iter()
            .all(|r| r[HEADER.len() - 1] == "ok")
    );
}

fn read_rows_if_any(path: &Path) -> usize {
    std::fs::read_to_string(path).map_or(0, |text| text.lines().count())
}

#[test]
fn a_gpu_configuration_runs_on_wgpu_when_compiled_in() {
    if !cfg!(feature = "wgpu") {
        eprintln!("note: built without the wgpu feature");
        return;
    }
    let Some(data) = mnist_dir() else { return };
    let out = tempfile::tempdir().unwrap();
    replay("g2mig.toml", &data, out.path())
        .args(["--limit", "40"])
        .assert()
        .success();
    let rows = read_csv(&out.path().join("g2.mig.csv"));
    assert_eq!(rows[1][col("backend")], "wgpu");
    assert_eq!(rows[1][col("gpu_share")], "0.125");
    assert_eq!(rows[1][col("throttle_method")], "duty-cycle + memory cap");
    eprintln!("wgpu adapter: {}", rows[1][col("device")]);
}

#[test]
fn report_turns_results_into_markdown_and_charts() {
    let Some(data) = mnist_dir() else { return };
    let results = tempfile::tempdir().unwrap();
    let report = tempfile::tempdir().unwrap();
    for cfg in ["c14.toml", "c132.toml"] {
        replay(cfg, &data, results.path())
            .args(["--limit", "100", "--backend", "flex"])
            .assert()
            .success();
    }
    runner()
        .arg("report")
        .arg(results.path())
        .arg("--out")
        .arg(report.path())
        .arg("--configs")
        .arg(configs())
        .assert()
        .success();
    let markdown = std::fs::read_to_string(report.path().join("report.md")).unwrap();
    assert!(
        markdown.contains("c1.4") && markdown.contains("c1.32"),
        "{markdown}"
    );
    for svg in [
        "wall_time.svg",
        "cost_per_run.svg",
        "accuracy.svg",
        "time_vs_cost.svg",
    ] {
        assert!(report.path().join(svg).is_file(), "{svg}");
    }
    runner()
        .arg("report")
        .arg(report.path().join("empty"))
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("error: "));
}
