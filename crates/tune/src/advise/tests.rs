//! The advice's arithmetic on hand-made scores, configurations and timing rows, and each bad
//! convergence file.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use replay_core::Dataset;
use replay_store::{ResultRow, Status};

use super::*;

/// A configuration `name` billed as `pricing` (a `[pricing]` body), flex on 4 vCPUs.
fn config(name: &str, pricing: &str) -> (PathBuf, Config) {
    let text = format!(
        "[config]\nplatform = \"Yandex DataSphere\"\nname = \"{name}\"\ndescription = \"d\"\n\
         [hardware]\nvcpus = 4\nram_gb = 8\n[run]\nbackend = \"flex\"\n\
         [pricing]\n{pricing}\nsource = \"s\"\nsource_date = \"2023\"\n"
    );
    let path = PathBuf::from(format!("configs/{name}.toml"));
    (
        path.clone(),
        Config::from_str(&text, &path.display().to_string()).unwrap(),
    )
}

const PER_SECOND: &str =
    "model = \"per_second\"\nunits = 4\nunit_price = 0.0012\ncurrency = \"RUB\"";
const PER_MINUTE: &str = "model = \"per_minute\"\nprice_per_minute = 0.19\n\
                          round_up_to_minute = true\ncurrency = \"RUB\"";

/// Two epochs of 60,000 images of run `run` on `config` at `batch`: the first in `first_s`,
/// the second in `second_s`.
fn run_rows(config: &str, run: &str, batch: u32, first_s: f64, second_s: f64) -> Vec<ResultRow> {
    [(1, first_s), (2, second_s)]
        .into_iter()
        .map(|(epoch, wall_s)| {
            let mut row = replay_store::testutil::sample_row();
            row.run_id = run.to_owned();
            row.config = config.to_owned();
            row.implementation = "burn".to_owned();
            row.backend = "flex".to_owned();
            row.step = "fused".to_owned();
            row.threads_requested = 4;
            row.gpu_share = None;
            row.throttle_method = "none".to_owned();
            row.dataset = "mnist".to_owned();
            row.hidden_units = 28;
            row.batch_size = batch;
            row.epoch = epoch;
            row.samples = 60_000;
            row.images = Some(u64::from(epoch) * 60_000);
            row.wall_s = wall_s;
            row.samples_per_s = 60_000.0 / wall_s;
            row.status = Status::Ok;
            row
        })
        .collect()
}

fn goal() -> Goal {
    Goal {
        dataset: Dataset::Mnist,
        hidden_units: 28,
        target: "94".parse().unwrap(),
    }
}

fn request(by: RankBy) -> Request {
    Request {
        goal: goal(),
        by,
        configs: Vec::new(),
        results: PathBuf::from("results"),
        convergence: PathBuf::from("results/convergence.csv"),
        data_dir: None,
        measure_images: MEASURE_IMAGES,
    }
}

fn score(batch_size: u32, learning_rate: f64, mean: Option<f64>, max: Option<u64>) -> BatchScore {
    BatchScore {
        batch_size,
        learning_rate,
        runs: 5,
        misses: 0,
        mean_images: mean,
        max_images: max,
        epoch_images: 60_000,
        eval_every: 1_000,
    }
}

/// Batch 1 at the study's rate needs 90,000 images, batch 32 at rate 8 120,000 (its slowest
/// seed 130,000), batch 4096 never gets there.
fn scores() -> Scores {
    let study = score(1, 0.1, Some(90_000.0), Some(100_000));
    Scores {
        best: vec![
            study.clone(),
            score(32, 8.0, Some(120_000.0), Some(130_000)),
        ],
        study: Some(study),
        unreached: vec![4096],
    }
}

/// c1.4 (per second, 0.0048 RUB/s) timed at batch 1 (2 s then 1 s an epoch: 60,000 images/s,
/// 1 s warm-up) and batch 32 (0.5 s then 0.25 s: 240,000 images/s, 0.25 s warm-up);
/// standard-4-8 (started minutes of 0.19 RUB) timed at batch 32 in one-epoch runs only
/// (0.6 s an epoch, warm-up inside the rate).
fn inputs() -> (Vec<(PathBuf, Config)>, Vec<ResultRow>) {
    let configs = vec![
        config("c1.4", PER_SECOND),
        config("standard-4-8", PER_MINUTE),
    ];
    let mut rows = run_rows("c1.4", "a", 1, 2.0, 1.0);
    rows.extend(run_rows("c1.4", "b", 32, 0.5, 0.25));
    rows.extend(
        run_rows("standard-4-8", "c", 32, 0.6, 0.6)
            .into_iter()
            .take(1),
    );
    (configs, rows)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn time_is_warm_up_plus_images_over_the_rate_and_cost_is_the_tariff_of_that_time() {
    let (configs, rows) = inputs();
    let advice = advise(&request(RankBy::Time), scores(), &configs, &rows).unwrap();
    let ranked: Vec<(&str, u32)> = advice
        .ranked()
        .map(|l| (l.config.name.as_str(), l.score.batch_size))
        .collect();
    assert_eq!(
        ranked,
        [("c1.4", 32), ("standard-4-8", 32), ("c1.4", 1)],
        "by time"
    );
    let chosen = advice.chosen().unwrap();
    let e = chosen.estimate.as_ref().unwrap();
    // 0.25 s warm-up + 120,000 / 240,000 images/s; 0.75 s x 4 units x 0.0012 RUB.
    assert!(close(e.seconds, 0.75) && close(e.cost, 0.0036), "{e:?}");
    assert_eq!(e.currency, "RUB");
    // The study's choice on c1.4: 1 s + 90,000 / 60,000 = 2.5 s, 0.012 RUB.
    let StudyEstimate::Estimated(study) = &chosen.study else {
        panic!("{:?}", chosen.study)
    };
    assert!(close(study.seconds, 2.5) && close(study.cost, 0.012));
    // standard-4-8: 120,000 images at 100,000 images/s = 1.2 s, one started minute.
    let vk = &advice.lines[1];
    let e = vk.estimate.as_ref().unwrap();
    assert!(close(e.seconds, 1.2) && close(e.cost, 0.19), "{e:?}");
    assert!(!vk.throughput.as_ref().unwrap().warm);
    assert_eq!(vk.study, StudyEstimate::NotMeasured);
    // Its batch 1 is the one pair not measured, with the sweep that measures it.
    assert_eq!(advice.lines.len(), 4);
    assert_eq!(advice.lines[3].rank, None);
    assert_eq!(advice.missing.len(), 1);
    assert_eq!(advice.missing[0].batch_sizes, [1]);
    assert_eq!(
        advice.missing[0].command,
        "runner sweep configs/standard-4-8.toml --dataset mnist --hidden-units 28 \
         --batch-sizes 1 --epochs 2 --out results"
    );
    assert_eq!(advice.scores.unreached, [4096]);
    // The cap: the slowest seed's 130,000 images are 3 epochs begun, and one more.
    assert_eq!(
        advice.train_command().unwrap(),
        "runner --config configs/c1.4.toml --dataset mnist --hidden-units 28 --batch-size 32 \
         --learning-rate 8 --target-accuracy 94 --eval-every 1000 --epochs 4"
    );
}

#[test]
fn by_cost_the_cheapest_leads_and_per_minute_round_up_counts() {
    let (configs, rows) = inputs();
    let advice = advise(&request(RankBy::Cost), scores(), &configs, &rows).unwrap();
    let costs: Vec<f64> = advice
        .ranked()
        .map(|l| l.estimate.as_ref().unwrap().cost)
        .collect();
    assert_eq!(costs.len(), 3);
    assert!(close(costs[0], 0.0036) && close(costs[1], 0.012) && close(costs[2], 0.19));
}

#[test]
fn costs_in_two_currencies_are_not_ranked_against_each_other() {
    let (mut configs, mut rows) = inputs();
    configs.push(config(
        "usd",
        "model = \"per_second\"\nunits = 1\nunit_price = 0.001\ncurrency = \"USD\"",
    ));
    rows.extend(run_rows("usd", "d", 32, 0.5, 0.25));
    let err = advise(&request(RankBy::Cost), scores(), &configs, &rows).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--by cost cannot rank costs in RUB (c1.4, standard-4-8) and USD (usd) against each \
         other without an exchange rate; rank --by time, or name configurations billed in one \
         currency"
    );
    assert!(advise(&request(RankBy::Time), scores(), &configs, &rows).is_ok());
}

#[test]
fn advice_without_any_timing_row_names_the_sweep_that_makes_them() {
    let (configs, _) = inputs();
    let advice = advise(&request(RankBy::Time), scores(), &configs[..1], &[]).unwrap();
    let err = advice.require_ranked().unwrap_err().to_string();
    assert!(err.starts_with("no throughput in 'results' for mnist, 28 hidden units, target 94 %"));
    assert!(
        err.contains(
            "`runner sweep configs/c1.4.toml --dataset mnist --hidden-units 28 \
             --batch-sizes 1,32 --epochs 2 --out results` measures them"
        ),
        "{err}"
    );
}

#[test]
fn the_table_the_markdown_and_the_csv_agree() {
    let (configs, rows) = inputs();
    let advice = advise(&request(RankBy::Time), scores(), &configs, &rows).unwrap();
    let text = export::text(&advice);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "advice for mnist, 28 hidden units, target 94 %, ranked by predicted time"
    );
    assert!(lines[1].starts_with("CONFIG") && lines[1].ends_with("CHOSEN"));
    assert!(
        lines[2].starts_with("c1.4") && lines[2].ends_with('✔'),
        "{text}"
    );
    assert!(
        lines[2].contains("750 ms") && lines[2].contains("0.00360 RUB"),
        "{text}"
    );
    assert!(lines[2].contains("2.50 s, 0.0120 RUB"), "{text}");
    assert!(
        lines[3].contains("not measured") && !lines[3].contains('✔'),
        "{text}"
    );
    assert!(text.contains("train it: runner --config configs/c1.4.toml"));
    assert!(text.contains("  standard-4-8 at batch 1: runner sweep configs/standard-4-8.toml"));
    assert!(text.contains("no rate tried reaches the target at batch size 4096"));

    let md = export::markdown(&advice);
    assert!(md.starts_with("# Advice: mnist, 28 hidden units, target 94 %\n\nPredicted time"));
    assert!(md.contains("| c1.4 | Yandex DataSphere | 4 vCPUs | flex | 32 | 8 | 2.00 | 750 ms |"));
    assert!(md.contains("```sh\nrunner --config configs/c1.4.toml"));

    let csv = String::from_utf8(export::csv(&advice).unwrap()).unwrap();
    let mut reader = ::csv::Reader::from_reader(csv.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header, export::ADVICE_COLUMNS);
    let records: Vec<::csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 4);
    let cell = |r: usize, name: &str| {
        let c = export::ADVICE_COLUMNS
            .iter()
            .position(|h| *h == name)
            .unwrap();
        records[r][c].to_owned()
    };
    assert_eq!(cell(0, "rank"), "1");
    assert_eq!(cell(0, "chosen"), "true");
    assert_eq!(cell(0, "predicted_time_s"), "0.75");
    assert_eq!(cell(0, "throughput_images_per_s"), "240000.0");
    assert_eq!(cell(0, "study_time_s"), "2.5");
    assert_eq!(cell(3, "status"), "not measured");
    assert_eq!(cell(3, "predicted_time_s"), "");
}

#[test]
fn hardware_and_money_read_as_a_person_writes_them() {
    let (_, config) = config("c1.4", PER_SECOND);
    assert_eq!(export::hardware(&config), "4 vCPUs");
    let mut gpu = config.clone();
    gpu.hardware.gpu = Some("NVIDIA A100".into());
    gpu.hardware.gpu_count = 0.125;
    assert_eq!(export::hardware(&gpu), "4 vCPUs, 1/8 NVIDIA A100");
    gpu.hardware.gpu_count = 2.0;
    assert_eq!(export::hardware(&gpu), "4 vCPUs, 2x NVIDIA A100");
    assert_eq!(export::money(0.0, "RUB"), "0 RUB");
    assert_eq!(export::money(0.0036, "RUB"), "0.00360 RUB");
    assert_eq!(export::money(4.567, "USD"), "4.57 USD");
    assert_eq!(export::money(1234.4, "RUB"), "1234 RUB");
}

/// A convergence file at `dir/convergence.csv` of `rows` (CSV lines after the header).
fn convergence_file(dir: &Path, rows: &[&str]) -> PathBuf {
    let path = dir.join("convergence.csv");
    let mut text = crate::convergence::CONVERGENCE_HEADER.join(",");
    text.push('\n');
    for row in rows {
        text.push_str(row);
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_scores_are_read_for_the_goal_with_the_study_choice_apart() {
    let dir = tempfile::tempdir().unwrap();
    let path = convergence_file(
        dir.path(),
        &[
            "mnist,28,0.94,1,0.1,1,90000,2,60000,0.95,1000,v",
            "mnist,28,0.94,1,0.1,2,90000,2,60000,0.95,1000,v",
            "mnist,28,0.94,1,0.5,1,60000,1,60000,0.95,1000,v",
            "mnist,28,0.94,1,0.5,2,60000,1,60000,0.95,1000,v",
            "mnist,28,0.94,32,8,1,120000,2,60000,0.95,2000,v",
            "mnist,28,0.94,32,8,2,120000,2,60000,0.95,2000,v",
        ],
    );
    let scores = read_scores(&goal(), &path).unwrap();
    let best: Vec<(u32, f64, u64)> = scores
        .best
        .iter()
        .map(|s| (s.batch_size, s.learning_rate, s.eval_every))
        .collect();
    assert_eq!(best, [(1, 0.5, 1000), (32, 8.0, 2000)]);
    assert!(scores.unreached.is_empty());
    let study = scores.study.unwrap();
    assert_eq!(study.mean_images, Some(90_000.0));
    assert_eq!(study.epochs(), Some(1.5));
}

#[test]
fn a_convergence_file_of_another_goal_missing_or_damaged_is_an_error_naming_the_tune() {
    let dir = tempfile::tempdir().unwrap();
    let err = read_scores(&goal(), &dir.path().join("convergence.csv"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("no convergence file"), "{err}");
    assert!(
        err.contains("`runner tune --dataset mnist --hidden-units 28 --target-accuracy 94 --out ")
    );
    for (row, holds) in [
        (
            "fashion-mnist,28,0.94,1,0.1,1,90000,2,60000,0.95,1000,v",
            "fashion-mnist",
        ),
        (
            "mnist,128,0.94,1,0.1,1,90000,2,60000,0.95,1000,v",
            "128 hidden units",
        ),
        (
            "mnist,28,0.85,1,0.1,1,90000,2,60000,0.95,1000,v",
            "target 85 %",
        ),
    ] {
        let path = convergence_file(dir.path(), &[row]);
        let err = read_scores(&goal(), &path).unwrap_err().to_string();
        assert!(
            err.contains(holds) && err.contains(", not mnist, 28 hidden units, target 94 %"),
            "{err}"
        );
    }
    let path = convergence_file(dir.path(), &[]);
    let err = read_scores(&goal(), &path).unwrap_err().to_string();
    assert!(err.contains("holds no rows"), "{err}");
    let path = convergence_file(
        dir.path(),
        &["mnist,28,0.94,1,zero,1,90000,2,60000,0.95,1000,v"],
    );
    let err = read_scores(&goal(), &path).unwrap_err().to_string();
    assert!(err.contains("damaged at line 2"), "{err}");
    let path = convergence_file(dir.path(), &["mnist,28,0.94,1,0.1,1,,9,60000,0.5,1000,v"]);
    let err = read_scores(&goal(), &path).unwrap_err().to_string();
    assert!(err.starts_with("no batch size in"), "{err}");
    assert!(err.contains("(batch sizes 1)"), "{err}");
}
