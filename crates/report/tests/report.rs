//! End-to-end: rows appended with `ResultsFile`, read back with `read_results`, reported by
//! every exporter into a folder, as the runner does it.

#![allow(clippy::unwrap_used, missing_docs)]

use std::fs;
use std::path::Path;

use quick_xml::events::Event;
use replay_report::export::svg::BAR_OPACITY;
use replay_report::export::{Chart, MarkdownExporter};
use replay_report::{Exporter, Report, StudyFigure, all_exporters, write_report};
use replay_store::{ReadError, ResultRow, ResultsFile, Status, read_results};

/// A row of `config` as the runner would write it: DataSphere per-second billing at
/// `units` x 0.0012 RUB/s, or VK's 0.19 RUB per started minute when `units` is 0.
#[allow(clippy::too_many_arguments)]
fn row(
    run: &str,
    config: &str,
    implementation: &str,
    backend: &str,
    epoch: u32,
    wall_s: f64,
    accuracy: f64,
    units: f64,
) -> ResultRow {
    let vk = units == 0.0;
    ResultRow {
        run_id: run.to_string(),
        started_utc: "2025-01-31T12:00:00Z".to_string(),
        config: config.to_string(),
        platform: if vk {
            "VK Cloud ML Platform"
        } else {
            "Yandex DataSphere"
        }
        .to_string(),
        implementation: implementation.to_string(),
        step: if implementation == "manual" {
            "manual"
        } else {
            "fused"
        }
        .to_string(),
        order: "shuffled".to_string(),
        init_weights: "seeded".to_string(),
        backend: backend.to_string(),
        device: if backend == "wgpu" {
            "llvmpipe (LLVM 19.1.7, 256 bits)"
        } else {
            "cpu"
        }
        .to_string(),
        threads_requested: 4,
        threads_used: 2,
        gpu_share: (backend == "wgpu").then_some(0.125),
        throttle_method: if backend == "wgpu" {
            "time-slice"
        } else {
            "none"
        }
        .to_string(),
        ram_gb: 16.0,
        peak_rss_mib: 250.0 + wall_s,
        ram_exceeded: false,
        dataset: "mnist".to_string(),
        hidden_units: 28,
        batch_size: 1,
        learning_rate: 0.1,
        seed: 1,
        epoch,
        samples: 60_000,
        wall_s,
        user_s: wall_s * 0.9,
        sys_s: wall_s * 0.1,
        samples_per_s: 60_000.0 / wall_s,
        train_loss: Some(0.03),
        train_accuracy: Some(0.83),
        test_loss: Some(0.0167),
        test_accuracy: Some(accuracy),
        images: Some(u64::from(epoch) * 60_000),
        train_s: None,
        eval_s: Some(0.5),
        target_accuracy: None,
        target_reached: None,
        billing: if vk { "per-minute" } else { "per-second" }.to_string(),
        price_source: "the study (2023)".to_string(),
        cost: if vk {
            (wall_s / 60.0).ceil() * 0.19
        } else {
            wall_s * units * 0.0012
        },
        cost_background: (!vk).then_some(wall_s * units * 0.0006),
        currency: "RUB".to_string(),
        host_cpu: "Test CPU @ 2.0GHz".to_string(),
        host_cores: 2,
        version: "0.1.0".to_string(),
        status: Status::Ok,
    }
}

fn fixture_rows() -> Vec<ResultRow> {
    let mut interrupted = row("i1", "c1.32", "burn", "ndarray", 1, 9.0, 0.5, 32.0);
    interrupted.samples = 12_000;
    interrupted.test_loss = None;
    interrupted.test_accuracy = None;
    interrupted.status = Status::Interrupted;
    vec![
        row("a1", "g2.mig", "burn", "wgpu", 1, 90.0, 0.912, 18.0),
        row("a2", "g2.mig", "burn", "wgpu", 1, 96.0, 0.915, 18.0),
        row("m1", "g2.mig", "manual", "wgpu", 1, 120.0, 0.93, 18.0),
        row("m1", "g2.mig", "manual", "wgpu", 2, 125.0, 0.938, 18.0),
        row("c1", "c1.32", "burn", "ndarray", 1, 40.0, 0.91, 32.0),
        row("c2", "c1.32", "burn", "ndarray", 1, 44.0, 0.914, 32.0),
        interrupted,
        row(
            "v1",
            "standard-4-8",
            "burn",
            "ndarray",
            1,
            68.0,
            0.9156,
            0.0,
        ),
    ]
}

fn figure(config: &str, implementation: &str, wall_s: f64, accuracy: f64) -> StudyFigure {
    StudyFigure {
        config: config.to_string(),
        implementation: implementation.to_string(),
        wall_s: Some(wall_s),
        accuracy: Some(accuracy),
        accuracy_per_platform: config != "standard-4-8",
        note: None,
    }
}

fn study() -> Vec<StudyFigure> {
    vec![
        figure("g2.mig", "burn", 93.0, 0.9127),
        figure("g2.mig", "manual", 125.0, 0.9382),
        figure("c1.32", "burn", 46.0, 0.9127),
        figure("c1.32", "manual", 106.0, 0.9382),
        figure("standard-4-8", "burn", 68.0, 0.9156),
    ]
}

/// Appends `rows` to `<dir>/<config>.csv` with the appender.
fn append_all(dir: &Path, rows: &[ResultRow]) {
    for row in rows {
        ResultsFile::open(dir, &row.config)
            .unwrap()
            .append(row)
            .unwrap();
    }
}

/// Parses `svg` as XML; returns the number of bars and the text of every `<text>` element.
fn parse_svg(svg: &str) -> (usize, Vec<String>) {
    let mut reader = quick_xml::Reader::from_str(svg);
    let (mut bars, mut texts, mut in_text) = (0, Vec::new(), false);
    let opacity = BAR_OPACITY.to_string();
    loop {
        match reader.read_event().unwrap() {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"rect" => {
                let is_bar = e.attributes().any(|a| {
                    let a = a.unwrap();
                    a.key.as_ref() == b"opacity" && a.value.as_ref() == opacity.as_bytes()
                });
                bars += usize::from(is_bar);
            }
            Event::Start(e) if e.name().as_ref() == b"text" => in_text = true,
            Event::End(e) if e.name().as_ref() == b"text" => in_text = false,
            Event::Text(t) if in_text => texts.push(t.xml_content().unwrap().trim().to_string()),
            _ => {}
        }
    }
    (bars, texts)
}

const EXPECTED_MARKDOWN: &str = r#"# Replay of the 2023 cloud ML platform study

> Emulated on this host, not measured on the real platforms: see [Host](#host).

Read 8 rows from 3 files: 7 ok, 1 interrupted, 0 failed; only `ok` epochs are summarised.

## Wall time per epoch

The training pass only (the test evaluation is excluded). Medians over runs, with min-max in brackets when there were several.

| configuration | implementation | step | backend | setup | epoch | runs | wall time, s | user, s | sys, s | samples/s | test accuracy |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
| c1.32 | burn | fused | ndarray | mnist 28 hidden, batch 1, lr 0.1, shuffled order, 2 of 4 threads, 60000 samples | 1 | 2 | 42.0 (40.0-44.0) | 37.8 | 4.20 | 1432 | 91.20 % |
| g2.mig | burn | fused | wgpu | mnist 28 hidden, batch 1, lr 0.1, shuffled order, 2 of 4 threads, GPU 0.125: time-slice, on llvmpipe (LLVM 19.1.7, 256 bits), 60000 samples | 1 | 2 | 93.0 (90.0-96.0) | 83.7 | 9.30 | 646 | 91.35 % |
| g2.mig | manual | manual | wgpu | mnist 28 hidden, batch 1, lr 0.1, shuffled order, 2 of 4 threads, GPU 0.125: time-slice, on llvmpipe (LLVM 19.1.7, 256 bits), 60000 samples | 1 | 1 | 120 | 108 | 12.0 | 500 | 93.00 % |
| g2.mig | manual | manual | wgpu | mnist 28 hidden, batch 1, lr 0.1, shuffled order, 2 of 4 threads, GPU 0.125: time-slice, on llvmpipe (LLVM 19.1.7, 256 bits), 60000 samples | 2 | 1 | 125 | 112 | 12.5 | 480 | 93.80 % |
| standard-4-8 | burn | fused | ndarray | mnist 28 hidden, batch 1, lr 0.1, shuffled order, 2 of 4 threads, 60000 samples | 1 | 1 | 68.0 | 61.2 | 6.80 | 882 | 91.56 % |

## Cost and memory per run

A run's cost is the sum over its epochs on the configuration's tariff, at the rate it was billed at, counted for complete runs only (no interrupted or failed epoch); per 1,000 epochs is the median epoch's cost times 1,000. Peak memory is the run's peak resident memory.

| configuration | implementation | step | backend | setup | runs | complete runs | epochs per run | peak memory, MiB | RAM, GB | runs over RAM | billing | currency | cost per run | in background mode | per 1,000 epochs |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
| c1.32 | burn | fused | ndarray | mnist 28 hidden, batch 1, lr 0.1, shuffled order, 2 of 4 threads, 60000 samples | 2 | 2 | 1 | 292 (290-294) | 16.0 | 0 | per-second | RUB | 1.61 (1.54-1.69) | 0.806 | 1613 |
| g2.mig | burn | fused | wgpu | mnist 28 hidden, batch 1, lr 0.1, shuffled order, 2 of 4 threads, GPU 0.125: time-slice, on llvmpipe (LLVM 19.1.7, 256 bits), 60000 samples | 2 | 2 | 1 | 343 (340-346) | 16.0 | 0 | per-second | RUB | 2.01 (1.94-2.07) | 1.00 | 2009 |
| g2.mig | manual | manual | wgpu | mnist 28 hidden, batch 1, lr 0.1, shuffled order, 2 of 4 threads, GPU 0.125: time-slice, on llvmpipe (LLVM 19.1.7, 256 bits), 60000 samples | 1 | 1 | 2 | 375 | 16.0 | 0 | per-second | RUB | 5.29 | 2.65 | 2646 |
| standard-4-8 | burn | fused | ndarray | mnist 28 hidden, batch 1, lr 0.1, shuffled order, 2 of 4 threads, 60000 samples | 1 | 1 | 1 | 318 | 16.0 | 0 | per-minute | RUB | 0.380 | n/a | 380 |

## Replay versus the study

The ratio is replay / study: below 1, the replay was faster. The accuracy difference is replay - study in percentage points. The study timed one epoch; the replay's wall time is its median per epoch, its accuracy the median after its last epoch. The study gives one accuracy per platform, not per configuration: where a note says so, every configuration of the platform is compared with the same figure. Only runs of the study's workload (MNIST, 28 hidden units, batch size 1, learning rate 0.1, 60,000 images per epoch) are put beside its figures.

| configuration | implementation | replay | study wall time, s | replay wall time, s | ratio | study accuracy | replay accuracy | after epoch | difference, points | note |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
| c1.32 | burn | c1.32 / burn | 46.0 | 42.0 | 0.913 | 91.27 % | 91.20 % | 1 | -0.07 |  |
| c1.32 | manual | n/a | 106 | n/a | n/a | 93.82 % | n/a | n/a | n/a |  |
| g2.mig | burn | g2.mig / burn | 93.0 | 93.0 | 1.00 | 91.27 % | 91.35 % | 1 | +0.08 |  |
| g2.mig | manual | g2.mig / manual | 125 | 122 | 0.980 | 93.82 % | 93.80 % | 2 | -0.02 |  |
| standard-4-8 | burn | standard-4-8 / burn | 68.0 | 68.0 | 1.00 | 91.56 % | 91.56 % | 1 | +0.00 |  |

## Charts

![Wall time of one training epoch (median, whiskers: min-max)](wall_time.svg)

## Host

These figures were measured on the hosts below, which emulate each configuration: the configuration's vCPUs as threads pinned to as many host cores (where the host has them), the GPU share as a slice of the device's compute units or as a time slice (the `throttle_method` column says which), and the RAM as a budget checked against the peak memory. They are not measurements on the real platforms.

- CPU: Test CPU @ 2.0GHz (2 logical cores)
- Backend ndarray: cpu
- Backend wgpu: llvmpipe (LLVM 19.1.7, 256 bits)
- Program version: 0.1.0

## Problems

None: every line of every file was used.
"#;

#[test]
fn the_markdown_tables_match_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    append_all(&results, &fixture_rows());
    let report = Report::build(&read_results(&results).unwrap(), &study());
    let exporter = MarkdownExporter {
        charts: vec![Chart::WallTime],
    };
    let markdown = String::from_utf8(exporter.render(&report).unwrap()).unwrap();
    let markdown = markdown.replace(&results.display().to_string(), "RESULTS");
    print!("{markdown}");
    assert_eq!(markdown, EXPECTED_MARKDOWN);
}

#[test]
fn every_file_is_written_and_the_charts_have_one_bar_per_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    append_all(&results, &fixture_rows());
    let report = Report::build(&read_results(&results).unwrap(), &study());
    assert_eq!(report.groups.len(), 4);
    let out = dir.path().join("report");
    let written = write_report(&report, &out, &all_exporters(&report)).unwrap();
    assert_eq!(written.len(), all_exporters(&report).len());
    for path in &written {
        assert!(fs::metadata(path).unwrap().len() > 0, "{}", path.display());
    }

    let labels: Vec<&str> = report.groups.iter().map(|g| g.label.as_str()).collect();
    let charts = Chart::all(&report);
    assert_eq!(charts.len(), 5, "{charts:?}");
    for chart in charts {
        let svg = fs::read_to_string(out.join(chart.file_name())).unwrap();
        let (bars, texts) = parse_svg(&svg);
        assert!(
            texts.iter().any(|t| *t == chart.title()),
            "{chart:?} has no title: {texts:?}"
        );
        let expected_bars = match chart {
            Chart::WallTime | Chart::CostPerRun => report.groups.len(),
            _ => 0,
        };
        assert_eq!(bars, expected_bars, "{chart:?}");
        for (i, label) in labels.iter().enumerate() {
            // The time-versus-cost chart numbers its points and names them in a key.
            let keyed = format!("{}: {label},", i + 1);
            assert!(
                texts.iter().any(|t| t == label || t.starts_with(&keyed)),
                "{chart:?} lacks label {label}: {texts:?}"
            );
        }
    }
    let (_, texts) = parse_svg(&fs::read_to_string(out.join("wall_time.svg")).unwrap());
    for expected in [
        "wall time per epoch, s (lower is faster)",
        "burn",
        "manual",
        "study (2023)",
        "93.0 s",
    ] {
        assert!(
            texts.iter().any(|t| t == expected),
            "wall_time.svg lacks '{expected}': {texts:?}"
        );
    }
    let (_, texts) = parse_svg(&fs::read_to_string(out.join("accuracy.svg")).unwrap());
    assert!(
        texts
            .iter()
            .any(|t| t == "test accuracy, % (higher is better)"),
        "{texts:?}"
    );

    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["groups"].as_array().unwrap().len(), 4);
    let markdown = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        markdown.contains("![Wall time of one training epoch"),
        "{markdown}"
    );
}

#[test]
fn an_empty_results_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = read_results(dir.path()).unwrap_err();
    assert!(matches!(err, ReadError::NoResultFiles { .. }), "{err}");
    assert!(err.to_string().contains("holds no *.csv file"), "{err}");
}

#[test]
fn foreign_and_truncated_files_are_listed_and_the_report_uses_the_valid_rows() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    append_all(&results, &fixture_rows());
    fs::write(
        results.join("benchmark.csv"),
        "command,mean,stddev\nsleep 1,1.0,0.0\n",
    )
    .unwrap();
    // Tear the last line of g2.mig.csv in half, as a crash mid-write would.
    let mig = results.join("g2.mig.csv");
    let text = fs::read_to_string(&mig).unwrap();
    fs::write(&mig, &text[..text.len() - 60]).unwrap();

    let set = read_results(&results).unwrap();
    assert_eq!(set.rows.len(), fixture_rows().len() - 1);
    let shown: Vec<String> = set.problems.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(
        shown[0].contains("benchmark.csv:1: not a replay results file"),
        "{shown:?}"
    );
    assert!(shown[1].contains("g2.mig.csv:5: "), "{shown:?}");
    assert!(shown[1].contains("no line end"), "{shown:?}");

    let report = Report::build(&set, &study());
    // The torn row was epoch 2 of m1: the manual group keeps epoch 1 only.
    let manual = report
        .groups
        .iter()
        .find(|g| g.label == "g2.mig / manual")
        .unwrap();
    assert_eq!(manual.epochs.len(), 1);
    let out = dir.path().join("report");
    write_report(&report, &out, &all_exporters(&report)).unwrap();
    let markdown = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        markdown.contains("2 lines or files were skipped"),
        "{markdown}"
    );
    for problem in &shown {
        assert!(markdown.contains(problem.as_str()), "{markdown}");
    }
}

#[test]
fn a_folder_of_only_bad_files_still_gives_a_report_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("other.csv"), "a,b\n1,2\n").unwrap();
    let set = read_results(dir.path()).unwrap();
    assert!(set.rows.is_empty());
    assert_eq!(set.problems.len(), 1);
    let report = Report::build(&set, &study());
    let out = dir.path().join("report");
    write_report(&report, &out, &all_exporters(&report)).unwrap();
    let markdown = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        markdown.contains("No epoch finished with status `ok`"),
        "{markdown}"
    );
    assert!(
        markdown.contains("other.csv:1: not a replay results file"),
        "{markdown}"
    );
    assert_eq!(Chart::all(&report), Chart::FIXED);
    for chart in Chart::FIXED {
        let (bars, texts) = parse_svg(&fs::read_to_string(out.join(chart.file_name())).unwrap());
        assert_eq!(bars, 0, "{chart:?}");
        assert!(
            texts.iter().any(|t| *t == chart.title()),
            "{chart:?}: {texts:?}"
        );
    }
}

#[test]
fn span_rows_read_back_make_epochs_and_a_time_to_target_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let results = dir.path().join("results");
    // Three seeds evaluated every 20,000 images of 60,000; each reaches 94 % at its
    // (seed + 3)th span: seeds 1 and 2 part-way through epoch 2, seed 3 at its end.
    let mut rows = Vec::new();
    for seed in 1..=3u64 {
        let reach = seed + 3;
        for i in 1..=reach {
            let epoch = u32::try_from((i - 1) / 3 + 1).unwrap();
            let accuracy = if i == reach { 0.941 } else { 0.90 };
            let mut r = row(
                &format!("t{seed}"),
                "c1.32",
                "burn",
                "ndarray",
                epoch,
                2.0,
                accuracy,
                32.0,
            );
            r.seed = seed;
            r.samples = 20_000;
            r.samples_per_s = 10_000.0;
            r.images = Some(i * 20_000);
            r.train_s = Some(2.0 * i as f64);
            r.target_accuracy = Some(0.94);
            r.target_reached = Some(i == reach);
            rows.push(r);
        }
    }
    append_all(&results, &rows);
    let set = read_results(&results).unwrap();
    assert_eq!(set.rows.len(), 15, "{:?}", set.problems);
    let report = Report::build(&set, &[]);
    assert_eq!(report.groups.len(), 1, "{:#?}", report.groups);
    let g = &report.groups[0];
    let times: Vec<(u32, usize, usize, Option<f64>)> = g
        .epochs
        .iter()
        .map(|e| (e.epoch, e.runs, e.stopped_runs, e.wall_s.map(|w| w.median)))
        .collect();
    assert_eq!(times, [(1, 3, 0, Some(6.0)), (2, 3, 2, Some(6.0))]);
    let t = g.to_target.as_ref().unwrap();
    // 8, 10 and 12 s: the fastest and the slowest dropped.
    assert_eq!(
        (t.time_to_target_s, t.images_to_target),
        (Some(10.0), Some(100_000.0))
    );

    let out = dir.path().join("report");
    write_report(&report, &out, &all_exporters(&report)).unwrap();
    let markdown = fs::read_to_string(out.join("report.md")).unwrap();
    assert!(markdown.contains("## Time and cost to 94 %"), "{markdown}");
    assert!(
        markdown.contains("![Time and cost to 94 % test accuracy"),
        "{markdown}"
    );
    let (_, texts) = parse_svg(&fs::read_to_string(out.join("time_to_target_94.svg")).unwrap());
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("1: c1.32 / burn, 10.0 s")),
        "{texts:?}"
    );
    let csv = fs::read_to_string(out.join("report-target.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(
        lines[0].contains(",time_to_target_s,") && lines[1].contains(",10,"),
        "{csv}"
    );
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["groups"][0]["to_target"]["time_to_target_s"], 10.0);
    assert_eq!(
        json["groups"][0]["to_target"]["run_results"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}
