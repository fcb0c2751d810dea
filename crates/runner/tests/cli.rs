//! The `runner` binary, end to end, on a small synthetic MNIST that every checkout can make:
//! each test writes its own folder of learnable images, so nothing here needs the real data.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::prelude::*;
use predicates::prelude::*;
use replay_store::{HEADER, HEADER_V1};

fn configs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

fn config(name: &str) -> PathBuf {
    configs().join(name)
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

/// `cmd --data-dir DATA --out OUT --quiet`.
fn with_io(mut cmd: Command, data: &Path, out: &Path) -> Command {
    cmd.arg("--data-dir")
        .arg(data)
        .arg("--out")
        .arg(out)
        .arg("--quiet");
    cmd
}

/// `runner --config <config> --data-dir DATA --out OUT --quiet`, ready for more flags.
fn replay(config: &Path, data: &Path, out: &Path) -> Command {
    let mut cmd = runner();
    cmd.arg("--config").arg(config);
    with_io(cmd, data, out)
}

/// `runner sweep <configs> --data-dir DATA --out OUT --quiet`, ready for more flags.
fn sweep_of(configs: &[&str], data: &Path, out: &Path) -> Command {
    let mut cmd = runner();
    cmd.arg("sweep")
        .args(configs.iter().map(|name| config(name)));
    with_io(cmd, data, out)
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

fn number(row: &[String], name: &str) -> f64 {
    row[col(name)]
        .parse()
        .unwrap_or_else(|_| panic!("{name} = {:?} is a number", row[col(name)]))
}

/// A copy of a shipped configuration with `from` replaced by `to`, in `dir`.
fn edited_config(dir: &Path, name: &str, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(config(name)).unwrap();
    assert!(text.contains(from), "{name} has no {from:?}");
    let path = dir.join(name);
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
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
    let path = edited_config(dir.path(), "c14.toml", "[run]", "[run]\nturbo = true");
    runner()
        .arg("check")
        .arg(&path)
        .assert()
        .code(1)
        .stdout(predicate::str::contains("c14.toml").and(predicate::str::contains("run.turbo")));
    runner()
        .arg("--config")
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::starts_with("error: ").and(predicate::str::contains("run.turbo")))
        .stderr(predicate::str::contains("panicked").not());
}

#[test]
fn fails_with_a_clear_error_when_the_config_file_is_missing_or_impossible() {
    runner()
        .args(["--config", "no/such/config.toml"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no/such/config.toml"));
    let dir = tempfile::tempdir().unwrap();
    let path = edited_config(dir.path(), "c14.toml", "vcpus = 4", "vcpus = 0");
    runner()
        .arg("--config")
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("hardware.vcpus"));
}

#[test]
fn bad_flags_fail_with_one_line_and_exit_code_1() {
    let c14 = config("c14.toml");
    let cases: [(&[&str], &str); 9] = [
        (
            &["--backend", "cuda2"],
            "unknown backend 'cuda2'; expected one of: flex, ndarray, wgpu",
        ),
        (&["--gpu-share", "1.5"], "expected a number in [1/1024, 1]"),
        (&["--gpu-share", "1e-300"], "invalid GPU share '1e-300'"),
        (
            &["--implementation", "keras"],
            "expected one of: burn, manual",
        ),
        (&["--order", "random"], "expected one of: shuffled, file"),
        (&["--step", "jit"], "expected one of: fused, autodiff"),
        (&["--step", "auto"], "expected one of: fused, autodiff"),
        (&["--threads", "0"], "--threads"),
        (&["--turbo"], "--turbo"),
    ];
    for (flags, message) in cases {
        let output = runner()
            .arg("--config")
            .arg(&c14)
            .args(flags)
            .output()
            .unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(1), "{flags:?}: {stderr}");
        assert!(stderr.contains(message), "{flags:?}: {stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "{flags:?}: one line, got {stderr}"
        );
    }
    runner()
        .assert()
        .code(1)
        .stderr(predicate::str::contains("--config"));
}

#[test]
fn help_lists_the_values_of_every_enumerated_flag() {
    let help = runner().arg("--help").output().unwrap();
    assert!(help.status.success());
    let help = String::from_utf8(help.stdout).unwrap();
    for values in [
        "[possible values: burn, manual]",
        "[possible values: flex, ndarray, wgpu]",
        "[possible values: fused, autodiff]",
        "[possible values: mnist, fashion-mnist]",
        "[possible values: shuffled, file]",
    ] {
        assert!(help.contains(values), "{values} in:\n{help}");
    }
}

#[test]
fn a_small_run_writes_the_exact_header_and_one_row_per_epoch_and_appends() {
    let (data, out) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    for _ in 0..2 {
        replay(&config("c14.toml"), data.path(), out.path())
            .args(["--epochs", "2", "--backend", "FLEX"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Wall time:"))
            .stdout(predicate::str::contains("CPU times: user"));
    }
    let rows = read_csv(&out.path().join("c1.4.csv"));
    assert_eq!(rows[0].join(","), HEADER.join(","));
    assert_eq!(
        rows.len(),
        1 + 4,
        "one header and one row per epoch of the two runs"
    );
    for row in &rows[1..] {
        assert_eq!(row.len(), HEADER.len());
        let cell = |name: &str| row[col(name)].as_str();
        assert_eq!(
            [
                cell("config"),
                cell("implementation"),
                cell("step"),
                cell("order")
            ],
            ["c1.4", "burn", "fused", "shuffled"]
        );
        assert_eq!(
            [cell("init_weights"), cell("backend"), cell("device")],
            ["seeded", "flex", "cpu"]
        );
        assert_eq!(
            [cell("samples"), cell("status"), cell("throttle_method")],
            ["600", "ok", "none"]
        );
        assert_eq!(
            [cell("threads_requested"), cell("threads_used")],
            ["4", "1"]
        );
        for name in [
            "wall_s",
            "user_s",
            "sys_s",
            "samples_per_s",
            "peak_rss_mib",
            "cost",
        ] {
            let value = number(row, name);
            assert!(value.is_finite() && value >= 0.0, "{name} = {value}");
        }
        let accuracy = number(row, "test_accuracy");
        assert!(accuracy > 0.5, "600 easy images are learnt: {accuracy}");
        let (cost, wall) = (number(row, "cost"), number(row, "wall_s"));
        assert!(
            (cost - wall * 4.0 * 0.0012).abs() < 1e-9,
            "c1.4 bills 4 units x 0.0012 RUB/s"
        );
    }
    assert_eq!(
        (
            rows[1][col("epoch")].as_str(),
            rows[2][col("epoch")].as_str()
        ),
        ("1", "2")
    );
    assert_ne!(rows[1][col("run_id")], rows[3][col("run_id")]);
}

#[test]
fn the_manual_rule_runs_on_one_cpu_thread_and_repeats_print_a_summary() {
    // The rule's tiny positive initial weights need a few passes over 600 images.
    const EPOCHS: usize = 10;
    let (data, out) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    replay(&config("g2mig.toml"), data.path(), out.path())
        .args([
            "--implementation",
            "manual",
            "--repeat",
            "3",
            "--epochs",
            &EPOCHS.to_string(),
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("3 runs: wall time median"));
    let rows = read_csv(&out.path().join("g2.mig.csv"));
    assert_eq!(rows.len(), 1 + 3 * EPOCHS);
    for row in rows[1..]
        .iter()
        .filter(|r| r[col("epoch")] == EPOCHS.to_string())
    {
        let cell = |name: &str| row[col(name)].as_str();
        assert_eq!(
            [cell("implementation"), cell("step"), cell("order")],
            ["manual", "manual", "file"]
        );
        assert_eq!(
            [cell("backend"), cell("device"), cell("gpu_share")],
            ["plain-rust", "cpu", "0.125"]
        );
        assert_eq!(cell("throttle_method"), "none (runs on the CPU)");
        assert_eq!(
            [cell("threads_requested"), cell("threads_used")],
            ["4", "1"]
        );
        let accuracy = number(row, "test_accuracy");
        assert!(
            accuracy > 0.5,
            "the hand-written rule learns the bars: {accuracy}"
        );
    }
}

#[test]
fn a_gpu_configuration_runs_throttled_on_wgpu_or_says_how_to_build_it() {
    let (data, out) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    let output = replay(&config("g2mig.toml"), data.path(), out.path())
        .args(["--limit", "100"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("not compiled into this program") {
        assert_eq!(output.status.code(), Some(1));
        assert!(
            stderr.contains("--features wgpu") && stderr.contains("--backend flex"),
            "{stderr}"
        );
        return;
    }
    assert!(output.status.success(), "{stderr}");
    let rows = read_csv(&out.path().join("g2.mig.csv"));
    let cell = |name: &str| rows[1][col(name)].as_str();
    assert_eq!(
        [cell("backend"), cell("gpu_share"), cell("step")],
        ["wgpu", "0.125", "fused"]
    );
    assert!(
        cell("throttle_method").starts_with("spatial (1 of "),
        "{}",
        cell("throttle_method")
    );
    assert_ne!(cell("device"), "cpu");

    replay(&config("g2mig.toml"), data.path(), out.path())
        .args(["--limit", "100", "--gpu-share-method", "time-slice"])
        .assert()
        .success();
    let rows = read_csv(&out.path().join("g2.mig.csv"));
    let method = &rows[2][col("throttle_method")];
    assert!(method.starts_with("time-slice"), "{method}");
}

#[test]
fn vcpus_pin_the_process_to_as_many_host_cores_when_the_host_has_them() {
    let (data, out) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    replay(&config("c14.toml"), data.path(), out.path())
        .args(["--limit", "50", "--threads", "1"])
        .assert()
        .success()
        .stdout(predicate::str::is_match("1 vCPU: pinned to host core [0-9]+\\n").unwrap());
    let cores = std::thread::available_parallelism().unwrap().get();
    replay(&config("c14.toml"), data.path(), out.path())
        .args(["--limit", "50", "--threads", &(cores + 1).to_string()])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!(
            "{} vCPUs: not pinned, the host has {cores} cores",
            cores + 1
        )));
}

#[test]
fn a_different_header_is_never_appended_to() {
    let (data, out) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    let csv = out.path().join("c1.4.csv");
    std::fs::write(&csv, "some,other,tool\n1,2,3\n").unwrap();
    replay(&config("c14.toml"), data.path(), out.path())
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("c1.4.csv")
                .and(predicate::str::contains("move the file away")),
        );
    assert_eq!(
        std::fs::read_to_string(&csv).unwrap(),
        "some,other,tool\n1,2,3\n"
    );
}

#[test]
fn a_file_with_the_previous_header_is_upgraded_and_appended_to() {
    let (data, out) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    replay(&config("c14.toml"), data.path(), out.path())
        .assert()
        .success();
    let csv = out.path().join("c1.4.csv");
    // Rewrite it as a file of the first version: without step, order, init_weights, dataset
    // and hidden_units.
    let kept: Vec<usize> = (0..HEADER.len())
        .filter(|&i| HEADER_V1.contains(&HEADER[i]))
        .collect();
    let old: Vec<Vec<String>> = read_csv(&csv)
        .iter()
        .map(|r| kept.iter().map(|&i| r[i].clone()).collect())
        .collect();
    let mut writer = csv::Writer::from_path(&csv).unwrap();
    for record in &old {
        writer.write_record(record).unwrap();
    }
    writer.flush().unwrap();
    replay(&config("c14.toml"), data.path(), out.path())
        .assert()
        .success()
        .stderr(predicate::str::contains("upgraded").and(predicate::str::contains("1 rows kept")));
    let rows = read_csv(&csv);
    assert_eq!(rows[0].join(","), HEADER.join(","));
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1][col("step")], "", "an unknown old cell is empty");
    assert_eq!(rows[1][col("dataset")], "mnist", "a certain one is filled");
    assert_eq!(rows[1][col("hidden_units")], "28");
    let old_wall = HEADER_V1.iter().position(|c| *c == "wall_s").unwrap();
    assert_eq!(rows[1][col("wall_s")], old[1][old_wall]);
    assert_eq!(rows[2][col("step")], "fused");
}

#[test]
fn weights_can_be_saved_and_loaded_back_and_rows_name_them() {
    let (data, out) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    let weights = out.path().join("mlp.safetensors");
    let small = || replay(&config("c14.toml"), data.path(), out.path());
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
    let rows = read_csv(&out.path().join("c1.4.csv"));
    assert_eq!(rows[1][col("init_weights")], "seeded");
    let id = &rows[2][col("init_weights")];
    assert!(id.starts_with("sha256:") && id.len() == 7 + 16, "{id}");
    small()
        .arg("--init-weights")
        .arg(out.path().join("nope.safetensors"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("nope.safetensors"));
    small()
        .args(["--implementation", "manual", "--save-weights"])
        .arg(&weights)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("Burn MLP only"));
}

#[test]
fn an_interrupted_run_leaves_a_valid_csv_and_exits_130() {
    let (data, out) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    let mut child = replay(&config("c14.toml"), data.path(), out.path())
        .args(["--epochs", "100000", "--step", "autodiff"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let csv = out.path().join("c1.4.csv");
    let start = std::time::Instant::now();
    let lines = || std::fs::read_to_string(&csv).map_or(0, |t| t.lines().count());
    while lines() < 2 {
        assert!(
            start.elapsed().as_secs() < 120,
            "no epoch finished in 120 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    interrupt(&child);
    assert_eq!(child.wait().unwrap().code(), Some(130));
    // The signal lands either in an epoch's training (that epoch is written `interrupted`,
    // unevaluated) or in an evaluation (the run ends at that epoch, every row `ok`); the
    // session's tests pin each case down. Either way every row is whole.
    let rows = read_csv(&csv);
    assert!(rows.len() >= 2, "{rows:?}");
    assert!(rows.iter().all(|r| r.len() == HEADER.len()), "{rows:?}");
    let last = rows.last().unwrap();
    match last[col("status")].as_str() {
        "interrupted" => assert_eq!(
            last[col("test_accuracy")],
            "",
            "an interrupted epoch is not evaluated"
        ),
        "ok" => assert_ne!(last[col("test_accuracy")], ""),
        other => panic!("last row's status {other:?}"),
    }
    assert!(
        rows[1..rows.len() - 1]
            .iter()
            .all(|r| r[col("status")] == "ok")
    );
}

#[test]
fn background_runs_are_billed_at_the_background_rate() {
    let (data, out) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    replay(&config("c132.toml"), data.path(), out.path())
        .arg("--background")
        .assert()
        .success()
        .stdout(predicate::str::contains("at the background rate"));
    let rows = read_csv(&out.path().join("c1.32.csv"));
    let (cost, background) = (
        number(&rows[1], "cost"),
        number(&rows[1], "cost_background"),
    );
    assert_eq!(cost, background);
    assert!((cost - number(&rows[1], "wall_s") * 16.0 * 0.0012).abs() < 1e-9);
    assert!(rows[1][col("billing")].ends_with("at the background rate"));
}

#[test]
fn started_minutes_are_billed_once_per_run_not_per_epoch() {
    let (data, out) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    let dir = tempfile::tempdir().unwrap();
    let vk = edited_config(
        dir.path(),
        "vk-standard-4-8.toml",
        "round_up_to_minute = false",
        "round_up_to_minute = true",
    );
    replay(&vk, data.path(), out.path())
        .args(["--epochs", "3"])
        .assert()
        .success();
    let rows = read_csv(&out.path().join("standard-4-8.csv"));
    let costs: Vec<f64> = rows[1..].iter().map(|r| number(r, "cost")).collect();
    assert!(number(&rows[1], "wall_s") < 60.0);
    assert!((costs.iter().sum::<f64>() - 0.19).abs() < 1e-9, "{costs:?}");
    assert_eq!(&costs[1..], &[0.0, 0.0]);
}

#[test]
fn a_full_results_disk_fails_the_run_and_leaves_the_file_as_it_was() {
    use std::os::unix::process::CommandExt;
    let (data, out) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    replay(&config("c14.toml"), data.path(), out.path())
        .assert()
        .success();
    let csv = out.path().join("c1.4.csv");
    let before = std::fs::read(&csv).unwrap();
    // The file may grow by 100 bytes, less than a row: the next append stops part-way.
    let limit = before.len() as u64 + 100;
    let mut cmd = replay(&config("c14.toml"), data.path(), out.path());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let rlimit = libc::rlimit {
                rlim_cur: limit,
                rlim_max: limit,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &rlimit);
            Ok(())
        });
    }
    let output = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("the file is as it was before"), "{stderr}");
    assert_eq!(std::fs::read(&csv).unwrap(), before, "byte for byte");
}

#[test]
fn sweep_runs_each_configuration_and_report_turns_results_into_markdown_and_charts() {
    let (data, results) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    sweep_of(&["c14.toml", "c132.toml"], data.path(), results.path())
        .args(["--backend", "flex"])
        .assert()
        .success()
        .stdout(predicate::str::contains("[1/2] c1.4").and(predicate::str::contains("[2/2] c1.32")))
        .stdout(predicate::str::contains("sweep done"));
    let report = tempfile::tempdir().unwrap();
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
        markdown.contains("| c1.4 | burn | fused | flex |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| c1.32 | burn | fused | flex |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("all of DataSphere"),
        "the study's note is carried: {markdown}"
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

#[test]
fn the_shards_of_a_sweep_run_every_item_once_and_slurm_names_the_shard() {
    let (data, results) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    let sweep = |shard: Option<&str>, slurm: &[(&str, &str)]| {
        let mut cmd = sweep_of(&["c14.toml", "c132.toml"], data.path(), results.path());
        cmd.args(["--seeds", "1,2", "--implementations", "burn,manual"]);
        if let Some(shard) = shard {
            cmd.args(["--shard", shard]);
        }
        for (name, value) in slurm {
            cmd.env(name, value);
        }
        cmd
    };
    // Eight items: 2 configurations x 2 implementations x 2 seeds; shard 1/3 by flag, shards
    // 0 and 2 as tasks 10 and 12 of a Slurm array from 10.
    sweep(Some("1/3"), &[])
        .assert()
        .success()
        .stdout(predicate::str::contains("sweep: 3 of 8 runs, shard 1/3"));
    for task in ["10", "12"] {
        let slurm = [
            ("SLURM_ARRAY_TASK_ID", task),
            ("SLURM_ARRAY_TASK_MIN", "10"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
        ];
        sweep(None, &slurm).assert().success();
    }
    let mut seen: Vec<String> = ["c1.4.csv", "c1.32.csv"]
        .iter()
        .flat_map(|f| read_csv(&results.path().join(f)).into_iter().skip(1))
        .map(|r| {
            format!(
                "{} {} {}",
                r[col("config")],
                r[col("implementation")],
                r[col("seed")]
            )
        })
        .collect();
    seen.sort();
    let mut expected: Vec<String> = Vec::new();
    for config in ["c1.32", "c1.4"] {
        for implementation in ["burn", "manual"] {
            for seed in [1, 2] {
                expected.push(format!("{config} {implementation} {seed}"));
            }
        }
    }
    assert_eq!(seen, expected, "every item exactly once");
    sweep(None, &[("SLURM_ARRAY_TASK_ID", "3")])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("SLURM_ARRAY_TASK_MIN is not set"));
    sweep(Some("3/3"), &[])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("invalid shard '3/3'"));
}

#[test]
fn a_sweep_refuses_a_flag_together_with_its_plural_in_one_line() {
    let pairs = [
        (["--seed", "4"], ["--seeds", "1,2"]),
        (
            ["--implementation", "burn"],
            ["--implementations", "burn,manual"],
        ),
        (
            ["--dataset", "mnist"],
            ["--datasets", "mnist,fashion-mnist"],
        ),
        (["--batch-size", "2"], ["--batch-sizes", "1,8"]),
    ];
    for (single, plural) in pairs {
        let output = runner()
            .arg("sweep")
            .arg(config("c14.toml"))
            .args(single)
            .args(plural)
            .output()
            .unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(
            output.status.code(),
            Some(1),
            "{single:?} {plural:?}: {stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        for flag in [single[0], plural[0]] {
            assert!(stderr.contains(&format!("'{flag} ")), "{flag} in {stderr}");
        }
        assert!(stderr.contains("cannot be used with"), "{stderr}");
    }
}

#[test]
fn ctrl_c_before_training_starts_stops_there_writes_nothing_and_exits_130() {
    use std::io::{BufRead, BufReader, Read};
    let (data, out) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    // The results file exists and this test holds its lock: the run, once its dataset is
    // loaded and its device open, waits for the lock before it trains.
    let csv = out.path().join("c1.4.csv");
    std::fs::write(&csv, format!("{}\n", HEADER.join(","))).unwrap();
    let before = std::fs::read(&csv).unwrap();
    let lock = std::fs::File::open(&csv).unwrap();
    lock.lock().unwrap();
    let mut child = replay(&config("c14.toml"), data.path(), out.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    // The vCPU line comes when the device is open, just before the results file is opened.
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert!(line.contains("vCPU"), "{line}");
    interrupt(&child);
    let mut message = String::new();
    while message.trim().is_empty() {
        message.clear();
        assert_ne!(stderr.read_line(&mut message).unwrap(), 0, "no message");
    }
    assert!(
        message.starts_with("interrupted before training started"),
        "{message}"
    );
    lock.unlock().unwrap();
    let status = child.wait().unwrap();
    let (mut more_out, mut more_err) = (String::new(), String::new());
    stdout.read_to_string(&mut more_out).unwrap();
    stderr.read_to_string(&mut more_err).unwrap();
    assert_eq!(status.code(), Some(130), "{more_out}{more_err}");
    assert_eq!(more_err, "", "the message is the only line on stderr");
    assert!(
        !more_out.contains("Wall time"),
        "nothing trained: {more_out}"
    );
    assert_eq!(std::fs::read(&csv).unwrap(), before, "no row written");
}

#[test]
fn saving_weights_into_a_missing_folder_fails_before_training() {
    let (data, out) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    let weights = out.path().join("no-such-folder").join("mlp.safetensors");
    let output = replay(&config("c14.toml"), data.path(), out.path())
        .arg("--save-weights")
        .arg(&weights)
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.starts_with("error: --save-weights: ")
            && stderr.contains(&weights.display().to_string())
            && stderr.contains("does not exist"),
        "{stderr}"
    );
    assert!(!out.path().join("c1.4.csv").exists(), "nothing was trained");
    let file = out.path().join("a-file");
    std::fs::write(&file, "").unwrap();
    replay(&config("c14.toml"), data.path(), out.path())
        .arg("--save-weights")
        .arg(file.join("mlp.safetensors"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("is not a folder"));
    assert!(!out.path().join("c1.4.csv").exists(), "nothing was trained");
}

#[test]
fn a_sweep_run_again_runs_only_what_is_missing_and_rerun_runs_everything() {
    let (data, results) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    let sweep = |extra: &[&str]| {
        let mut cmd = sweep_of(&["c14.toml", "c132.toml"], data.path(), results.path());
        cmd.args(["--seeds", "1,2", "--repeat", "2"]).args(extra);
        cmd
    };
    let rows = || {
        let mut seen: Vec<String> = ["c1.4.csv", "c1.32.csv"]
            .iter()
            .map(|f| results.path().join(f))
            .filter(|path| path.exists())
            .flat_map(|path| read_csv(&path).into_iter().skip(1))
            .map(|r| format!("{} {}", r[col("config")], r[col("seed")]))
            .collect();
        seen.sort();
        seen
    };
    // Half the sweep's eight runs (2 configurations x 2 seeds x 2 repeats), as if the sweep
    // had been killed there; then the whole sweep, which runs the other half only.
    sweep(&["--shard", "0/2"]).assert().success();
    assert_eq!(rows().len(), 4);
    sweep(&[])
        .assert()
        .success()
        .stdout(predicate::str::contains("skipping 4 of the sweep's runs"))
        .stdout(predicate::str::contains("sweep: 4 of 8 runs"));
    let mut expected: Vec<String> = Vec::new();
    for config in ["c1.32", "c1.4"] {
        for seed in [1, 2] {
            expected.extend([format!("{config} {seed}"), format!("{config} {seed}")]);
        }
    }
    assert_eq!(rows(), expected, "every run exactly once");
    sweep(&[])
        .assert()
        .success()
        .stdout(predicate::str::contains("nothing left to run"));
    assert_eq!(rows(), expected);
    // Another learning rate makes other runs: none of them is done.
    sweep(&["--learning-rate", "0.2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("sweep: 8 of 8 runs"));
    assert_eq!(rows().len(), 16);
    sweep(&["--rerun"])
        .assert()
        .success()
        .stdout(predicate::str::contains("sweep: 8 of 8 runs"));
    assert_eq!(rows().len(), 24, "--rerun runs every run again");
}

#[test]
fn a_sweep_skips_up_front_the_runs_no_step_trains_and_says_why() {
    let (data, results) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    sweep_of(&["c14.toml"], data.path(), results.path())
        .args([
            "--implementations",
            "burn,manual",
            "--hidden-units",
            "28,64",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "(manual, mnist, 784-64-10, batch 1): the hand-written rule is the study's \
             28-unit network",
        ))
        .stdout(predicate::str::contains("sweep: 3 of 4 runs"));
    let rows = read_csv(&results.path().join("c1.4.csv"));
    let mut made: Vec<String> = rows
        .iter()
        .skip(1)
        .map(|r| format!("{} {}", r[col("implementation")], r[col("hidden_units")]))
        .collect();
    made.sort();
    assert_eq!(made, ["burn 28", "burn 64", "manual 28"]);
}

#[test]
fn a_sweep_with_other_threads_after_a_default_one_runs_again_and_then_only_what_is_missing() {
    let (data, results) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    let sweep = |extra: &[&str]| {
        let mut cmd = sweep_of(&["c14.toml"], data.path(), results.path());
        cmd.args(extra);
        cmd
    };
    sweep(&[])
        .assert()
        .success()
        .stdout(predicate::str::contains("sweep: 1 of 1 runs"));
    sweep(&["--threads", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("sweep: 1 of 1 runs"));
    sweep(&["--threads", "2"])
        .assert()
        .success()
        .stdout(predicate::str::contains("nothing left to run"));
    let rows = read_csv(&results.path().join("c1.4.csv"));
    let mut threads: Vec<&str> = rows
        .iter()
        .skip(1)
        .map(|r| r[col("threads_requested")].as_str())
        .collect();
    threads.sort_unstable();
    assert_eq!(threads, ["2", "4"]);
}

/// Sends SIGINT (Ctrl-C) to `child`.
fn interrupt(child: &std::process::Child) {
    let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
}

#[test]
fn a_run_that_makes_no_progress_for_the_stall_timeout_ends_with_one_line_and_whole_rows() {
    // A timeout shorter than the gap between two progress reports: the watchdog fires in the
    // first epochs, as it would on a device that stopped.
    let (data, out) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    let output = replay(&config("c14.toml"), data.path(), out.path())
        .args(["--epochs", "100000", "--stall-timeout", "1ms"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors: Vec<_> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("no progress") && errors[0].contains("--stall-timeout 1ms"),
        "{stderr}"
    );
    let csv = out.path().join("c1.4.csv");
    if csv.exists() {
        let text = std::fs::read_to_string(&csv).unwrap();
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "a torn row: {text:?}"
        );
        for row in read_csv(&csv).iter().skip(1) {
            assert_eq!(row[col("status")], "ok", "{row:?}");
        }
    }
}

#[test]
fn a_stall_timeout_that_is_no_duration_fails_with_one_line() {
    let (data, out) = (synthetic_mnist(), tempfile::tempdir().unwrap());
    replay(&config("c14.toml"), data.path(), out.path())
        .args(["--stall-timeout", "soon"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("not a stall timeout"));
    assert!(!out.path().join("c1.4.csv").exists());
}

#[test]
fn the_committed_reference_pages_are_what_the_code_prints() {
    for (topic, file) in [("cli", "cli.md"), ("csv", "results-csv.md")] {
        let page = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/reference")
            .join(file);
        let committed = std::fs::read_to_string(&page).unwrap_or_default();
        let output = runner().args(["reference", topic]).output().unwrap();
        assert!(output.status.success(), "{output:?}");
        let printed = String::from_utf8(output.stdout).unwrap();
        assert!(
            committed == printed,
            "docs/reference/{file} differs from what `runner reference {topic}` prints: \
             regenerate it with `cargo run --release -p replay-runner -- reference {topic} > \
             docs/reference/{file}`"
        );
    }
}

#[test]
fn completions_print_a_script_bash_accepts() {
    let output = runner().args(["completions", "bash"]).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("runner.bash");
    std::fs::write(&script, &output.stdout).unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.contains("--stall-timeout") && text.contains("sweep"));
    let syntax = std::process::Command::new("bash")
        .arg("-n")
        .arg(&script)
        .status()
        .unwrap();
    assert!(syntax.success(), "bash -n rejects the script");
    runner()
        .args(["completions", "tcsh"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("possible values"));
}
