//! Every chart stays readable at any number of groups: rendered from a sweep of the 15 shipped
//! configurations (both implementations, three seeds, several batch sizes, steps and
//! backends, a second workload and a second host, runs to a target accuracy and models that
//! did not learn: over 100 groups), no legend, label or tick label overlaps another or leaves
//! the canvas, checked from the SVG files written.
//!
//! Text boxes are computed from the SVG alone, conservatively: 0.7 em per character (more
//! than the average advance of DejaVu Sans, the widest common sans-serif face), 0.95 em above
//! the baseline and 0.3 em below it. Set `REPLAY_KEEP_CHARTS=DIR` to keep the report for a
//! look.

#![allow(clippy::unwrap_used, missing_docs)]

use std::fs;
use std::path::{Path, PathBuf};

use quick_xml::events::{BytesStart, Event};
use replay_report::export::Chart;
use replay_report::{Report, StudyFigure, all_exporters, write_report};
use replay_store::testutil::sample_row;
use replay_store::{ResultRow, ResultsSet};

/// A box: left, top, right, bottom, in pixels.
type Bounds = (f64, f64, f64, f64);

/// Slack for coordinates written with two decimals.
const ROUNDING: f64 = 0.05;

fn overlap(a: Bounds, b: Bounds) -> bool {
    a.0 + ROUNDING < b.2 && b.0 + ROUNDING < a.2 && a.1 + ROUNDING < b.3 && b.1 + ROUNDING < a.3
}

fn inside(outer: Bounds, inner: Bounds) -> bool {
    inner.0 >= outer.0 - ROUNDING
        && inner.1 >= outer.1 - ROUNDING
        && inner.2 <= outer.2 + ROUNDING
        && inner.3 <= outer.3 + ROUNDING
}

/// What the check reads from an SVG: its size, its texts with their boxes, and its legends'
/// boxes.
#[derive(Debug, Default)]
struct Layout {
    width: f64,
    height: f64,
    /// Each text, its box, and whether it is a legend's.
    texts: Vec<(String, Bounds, bool)>,
    legends: Vec<Bounds>,
}

fn attribute(e: &BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == name.as_bytes())
        .map(|a| a.unescape_value().unwrap().into_owned())
}

fn number(e: &BytesStart<'_>, name: &str) -> f64 {
    attribute(e, name).map_or(0.0, |v| v.parse().unwrap())
}

/// The box of a `<text>` element with `content`.
fn text_bounds(e: &BytesStart<'_>, content: &str) -> Bounds {
    let (x, y, size) = (number(e, "x"), number(e, "y"), number(e, "font-size"));
    assert!(size > 0.0, "a text without a font size: {content}");
    let width = content.chars().count() as f64 * 0.7 * size;
    let start = match attribute(e, "text-anchor").as_deref() {
        Some("middle") => x - width / 2.0,
        Some("end") => x - width,
        _ => x,
    };
    let dy = attribute(e, "dy").map_or(0.0, |d| {
        let em: f64 = d.trim_end_matches("em").parse().unwrap();
        em * size
    });
    let (x0, y0, x1, y1) = (
        start,
        y + dy - 0.95 * size,
        start + width,
        y + dy + 0.3 * size,
    );
    match attribute(e, "transform") {
        None => (x0, y0, x1, y1),
        Some(turn) => {
            let numbers: Vec<f64> = turn
                .trim_start_matches("rotate(")
                .trim_end_matches(')')
                .split([',', ' '])
                .filter(|s| !s.is_empty())
                .map(|s| s.parse().unwrap())
                .collect();
            let (angle, cx, cy) = (numbers[0].to_radians(), numbers[1], numbers[2]);
            let turn = |(px, py): (f64, f64)| {
                let (dx, dy) = (px - cx, py - cy);
                (
                    cx + dx * angle.cos() - dy * angle.sin(),
                    cy + dx * angle.sin() + dy * angle.cos(),
                )
            };
            let corners = [(x0, y0), (x1, y0), (x0, y1), (x1, y1)].map(turn);
            let xs = corners.map(|c| c.0);
            let ys = corners.map(|c| c.1);
            (
                xs.into_iter().fold(f64::INFINITY, f64::min),
                ys.into_iter().fold(f64::INFINITY, f64::min),
                xs.into_iter().fold(f64::NEG_INFINITY, f64::max),
                ys.into_iter().fold(f64::NEG_INFINITY, f64::max),
            )
        }
    }
}

fn layout(svg: &str) -> Layout {
    let mut reader = quick_xml::Reader::from_str(svg);
    let mut layout = Layout::default();
    let mut open: Option<(BytesStart<'static>, String)> = None;
    loop {
        match reader.read_event().unwrap() {
            Event::Eof => break,
            Event::Start(e) if e.name().as_ref() == b"svg" => {
                layout.width = number(&e, "width");
                layout.height = number(&e, "height");
            }
            Event::Start(e) if e.name().as_ref() == b"text" => {
                open = Some((e.into_owned(), String::new()));
            }
            Event::Text(t) => {
                if let Some((_, content)) = open.as_mut() {
                    content.push_str(&t.xml_content().unwrap());
                }
            }
            Event::GeneralRef(r) => {
                if let Some((_, content)) = open.as_mut() {
                    let name = String::from_utf8(r.to_vec()).unwrap();
                    content.push(match name.as_str() {
                        "amp" => '&',
                        "lt" => '<',
                        "gt" => '>',
                        "quot" => '"',
                        "apos" => '\'',
                        other => panic!("entity {other}"),
                    });
                }
            }
            Event::End(e) if e.name().as_ref() == b"text" => {
                if let Some((start, content)) = open.take() {
                    let legend = attribute(&start, "class").as_deref() == Some("legend");
                    let bounds = text_bounds(&start, &content);
                    layout.texts.push((content, bounds, legend));
                }
            }
            Event::Empty(e) | Event::Start(e)
                if e.name().as_ref() == b"rect"
                    && attribute(&e, "class").as_deref() == Some("legend") =>
            {
                let (x, y) = (number(&e, "x"), number(&e, "y"));
                let (w, h) = (number(&e, "width"), number(&e, "height"));
                layout.legends.push((x, y, x + w, y + h));
            }
            _ => {}
        }
    }
    layout
}

/// Every way the texts and legends of `svg` collide or leave the canvas, in words.
fn collisions(svg: &str) -> Vec<String> {
    let l = layout(svg);
    let canvas = (0.0, 0.0, l.width, l.height);
    let mut found = Vec::new();
    for (text, b, _) in &l.texts {
        if !inside(canvas, *b) {
            found.push(format!(
                "'{text}' {b:?} leaves the {}x{} canvas",
                l.width, l.height
            ));
        }
    }
    for legend in &l.legends {
        if !inside(canvas, *legend) {
            found.push(format!("a legend {legend:?} leaves the canvas"));
        }
        for (text, b, in_legend) in &l.texts {
            if *in_legend && !inside(*legend, *b) && overlap(*legend, *b) {
                found.push(format!("legend text '{text}' runs out of its box"));
            }
            if !in_legend && overlap(*legend, *b) {
                found.push(format!("'{text}' {b:?} is under a legend {legend:?}"));
            }
        }
    }
    for (i, (a, ab, _)) in l.texts.iter().enumerate() {
        for (b, bb, _) in &l.texts[i + 1..] {
            if overlap(*ab, *bb) {
                found.push(format!("'{a}' {ab:?} overlaps '{b}' {bb:?}"));
            }
        }
    }
    found
}

#[test]
fn the_check_finds_overlapping_and_escaping_labels() {
    let svg = r##"<svg width="200" height="100" viewBox="0 0 200 100" xmlns="http://www.w3.org/2000/svg">
<rect x="100" y="10" width="80" height="30" fill="#FFFFFF" class="legend"/>
<text x="10" y="50" font-size="12">0.0001</text>
<text x="50" y="50" font-size="12">0.0002</text>
<text x="150" y="30" font-size="12">under</text>
<text x="150" y="90" font-size="12" text-anchor="start">off the edge</text>
<text x="5" y="95" font-size="12" transform="rotate(-90, 5, 95)">turned upwards</text>
</svg>"##;
    let found = collisions(svg);
    let all = found.join("\n");
    assert!(
        all.contains("'0.0001'") && all.contains("overlaps '0.0002'"),
        "{all}"
    );
    assert!(
        all.contains("'under'") && all.contains("is under a legend"),
        "{all}"
    );
    assert!(
        all.contains("'off the edge'") && all.contains("leaves the"),
        "{all}"
    );
    assert!(
        all.contains("'turned upwards'") && all.contains("leaves the"),
        "{all}"
    );
}

/// The shipped configurations: name, platform, units billed per second (0 for free, `None`
/// for VK's per-minute billing), and whether they have a GPU.
fn configurations() -> Vec<(String, String, Option<f64>, bool)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let mut configs: Vec<_> = replay_platform::load_dir(&dir)
        .unwrap()
        .into_iter()
        .map(|(_, config)| {
            let config = config.unwrap();
            let cost = config.pricing.cost(1.0);
            let units = match cost.billing.as_str() {
                b if b.starts_with("per_minute") => None,
                _ => Some(cost.cost / 0.0012),
            };
            let gpu = config.run.gpu_share.is_some();
            (config.name, config.platform, units, gpu)
        })
        .collect();
    configs.sort_by(|a, b| a.0.cmp(&b.0));
    configs
}

/// One epoch row.
struct Epoch<'a> {
    config: &'a (String, String, Option<f64>, bool),
    implementation: &'a str,
    backend: &'a str,
    step: &'a str,
    batch: u32,
    seed: u64,
    epoch: u32,
    wall_s: f64,
    accuracy: f64,
}

fn row(e: &Epoch<'_>) -> ResultRow {
    let (name, platform, units, gpu) = e.config;
    let cost = match units {
        Some(units) => e.wall_s * units * 0.0012,
        None => (e.wall_s / 60.0).ceil() * 0.19,
    };
    ResultRow {
        run_id: format!(
            "1764312000-node_a-{}-{}{}{}{}",
            e.seed,
            name.bytes().map(u32::from).sum::<u32>() * name.len() as u32,
            e.implementation.len(),
            e.step.len(),
            e.batch
        ),
        config: name.clone(),
        platform: platform.clone(),
        implementation: e.implementation.to_string(),
        step: e.step.to_string(),
        order: if e.implementation == "manual" {
            "file"
        } else {
            "shuffled"
        }
        .to_string(),
        backend: e.backend.to_string(),
        device: if e.backend == "wgpu" {
            "llvmpipe (LLVM 19.1.7, 256 bits)"
        } else {
            "cpu"
        }
        .to_string(),
        gpu_share: gpu.then_some(if name == "g2.mig" { 0.125 } else { 1.0 }),
        throttle_method: if e.backend == "wgpu" {
            "spatial (1 cube)"
        } else {
            "none"
        }
        .to_string(),
        batch_size: e.batch,
        seed: e.seed,
        epoch: e.epoch,
        wall_s: e.wall_s,
        samples_per_s: 60_000.0 / e.wall_s,
        test_accuracy: Some(e.accuracy),
        cost,
        cost_background: units.map(|u| e.wall_s * u * 0.0006),
        host_cpu: "AMD EPYC 7B13".to_string(),
        ..sample_row()
    }
}

/// A sweep of every shipped configuration: the hand-written rule for 2 epochs (the same
/// times and accuracies everywhere, as on one host), the Burn MLP at batch sizes 1 to 512 on
/// its backend and, for the GPU configurations, with the autodiff step too; three seeds; a
/// Fashion-MNIST sweep with 64 hidden units on four configurations, and one configuration
/// measured on a second host.
fn sweep() -> Vec<ResultRow> {
    let configs = configurations();
    assert_eq!(configs.len(), 15);
    let mut rows = Vec::new();
    for config in &configs {
        let gpu = config.3;
        for seed in 1..=3u64 {
            let jitter = 1.0 + 0.02 * (seed as f64 - 2.0);
            for epoch in 1..=2 {
                rows.push(row(&Epoch {
                    config,
                    implementation: "manual",
                    backend: "plain-rust",
                    step: "manual",
                    batch: 1,
                    seed,
                    epoch,
                    wall_s: 0.18 * jitter,
                    accuracy: if epoch == 1 { 0.9215 } else { 0.9395 },
                }));
            }
            let (backend, base) = if gpu { ("wgpu", 13.1) } else { ("flex", 0.23) };
            let steps: &[(&str, f64)] = if gpu {
                &[("fused", 1.0), ("autodiff (dense)", 2.5)]
            } else {
                &[("fused", 1.0)]
            };
            for &(step, slower) in steps {
                for batch in [1u32, 8, 64, 512] {
                    let wall_s = base * slower * jitter / f64::from(batch).powf(0.7);
                    rows.push(row(&Epoch {
                        config,
                        implementation: "burn",
                        backend,
                        step,
                        batch,
                        seed,
                        epoch: 1,
                        wall_s,
                        accuracy: 0.9115 - 0.002 * f64::from(batch).log2() / 9.0,
                    }));
                }
            }
        }
    }
    for config in configs.iter().take(4) {
        for batch in [1u32, 16, 256] {
            let mut fashion = row(&Epoch {
                config,
                implementation: "burn",
                backend: "flex",
                step: "fused",
                batch,
                seed: 9,
                epoch: 1,
                wall_s: 0.5 / f64::from(batch).powf(0.6),
                accuracy: 0.84,
            });
            fashion.dataset = "fashion-mnist".to_string();
            fashion.hidden_units = 64;
            fashion.run_id = format!("1764312000-node_a-9-{}{batch}", config.0.len());
            rows.push(fashion);
        }
    }
    // Three configurations at batch 256 and a rate far too small: models that did not learn.
    for (c, config) in configs.iter().enumerate().take(3) {
        let mut stuck = row(&Epoch {
            config,
            implementation: "burn",
            backend: "flex",
            step: "fused",
            batch: 256,
            seed: 1,
            epoch: 1,
            wall_s: 0.02,
            accuracy: 0.25,
        });
        stuck.learning_rate = 0.001;
        stuck.run_id = format!("1764312000-node_a-8-{c}");
        rows.push(stuck);
    }
    rows.extend(target_runs(&configs));
    let mut other_host = row(&Epoch {
        config: &configs[0],
        implementation: "manual",
        backend: "plain-rust",
        step: "manual",
        batch: 1,
        seed: 1,
        epoch: 1,
        wall_s: 0.35,
        accuracy: 0.9215,
    });
    other_host.run_id = "1764312000-node_b-1-1".to_string();
    other_host.host_cpu = "Intel Xeon Gold 6338".to_string();
    rows.push(other_host);
    rows
}

/// Runs to 94 % on six configurations, at the study's batch size and rate and at batch 64 and
/// rate 0.5, three seeds each, evaluated every 20,000 images: each reaches the target after
/// 1.5 to 2.5 epochs, but one seed at batch 64 on the sixth, which misses it.
fn target_runs(configs: &[(String, String, Option<f64>, bool)]) -> Vec<ResultRow> {
    let mut rows = Vec::new();
    for (c, config) in configs.iter().enumerate().take(6) {
        for (batch, rate, per_span) in [(1u32, 0.1, 0.09), (64, 0.5, 0.02)] {
            for seed in 1..=3u64 {
                let reach = 4 + seed + (c as u64 % 2);
                let missed = c == 5 && batch == 64 && seed == 3;
                let spans = if missed { 9 } else { reach };
                for i in 1..=spans {
                    let epoch = ((i - 1) / 3 + 1) as u32;
                    let reached = !missed && i == reach;
                    let mut r = row(&Epoch {
                        config,
                        implementation: "burn",
                        backend: "flex",
                        step: "fused",
                        batch,
                        seed,
                        epoch,
                        wall_s: per_span * (1.0 + c as f64 / 10.0),
                        accuracy: if reached { 0.941 } else { 0.9 },
                    });
                    r.run_id = format!("1764312000-node_a-{seed}{batch}-{c}");
                    r.learning_rate = rate;
                    r.samples = 20_000;
                    r.samples_per_s = 20_000.0 / r.wall_s;
                    r.images = Some(i * 20_000);
                    r.train_s = Some(i as f64 * r.wall_s);
                    r.target_accuracy = Some(0.94);
                    r.target_reached = Some(reached);
                    rows.push(r);
                }
            }
        }
    }
    rows
}

fn study() -> Vec<StudyFigure> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let read = StudyFigure::of_dir(&dir).unwrap();
    assert!(read.unreadable.is_empty());
    read.figures
}

/// Writes the report of the sweep into a temporary folder (or `REPLAY_KEEP_CHARTS`).
fn written() -> (Report, PathBuf, Option<tempfile::TempDir>) {
    let set = ResultsSet {
        rows: sweep(),
        ..ResultsSet::default()
    };
    let report = Report::build(&set, &study());
    let (out, temp) = match std::env::var_os("REPLAY_KEEP_CHARTS") {
        Some(dir) => (PathBuf::from(dir), None),
        None => {
            let temp = tempfile::tempdir().unwrap();
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    write_report(&report, &out, &all_exporters(&report)).unwrap();
    (report, out, temp)
}

#[test]
fn no_chart_of_a_fifteen_configuration_sweep_has_a_label_over_another_or_off_the_canvas() {
    let (report, out, _temp) = written();
    assert!(report.groups.len() >= 30, "{} groups", report.groups.len());
    let charts = Chart::all(&report);
    assert_eq!(charts.len(), 7, "{charts:?}");
    assert!(charts.contains(&Chart::TimeToTarget {
        target: "94".to_string()
    }));
    assert!(report.groups.iter().any(|g| g.did_not_learn()));
    for chart in &charts {
        let svg = fs::read_to_string(out.join(chart.file_name())).unwrap();
        let found = collisions(&svg);
        assert!(
            found.is_empty(),
            "{}:\n{}",
            chart.file_name(),
            found.join("\n")
        );
        let texts: Vec<String> = layout(&svg).texts.into_iter().map(|t| t.0).collect();
        assert!(texts.contains(&chart.title()), "{chart:?}");
    }
    let markdown = fs::read_to_string(out.join("report.md")).unwrap();
    for chart in &charts {
        let link = format!("![{}]({})", chart.title(), chart.file_name());
        assert!(markdown.contains(&link), "report.md lacks {link}");
    }
}

#[test]
fn free_runs_are_never_put_on_a_log_axis_and_the_study_stays_beside_its_workload() {
    let (report, out, _temp) = written();
    let texts = |file: &str| -> Vec<String> {
        layout(&fs::read_to_string(out.join(file)).unwrap())
            .texts
            .into_iter()
            .map(|t| t.0)
            .collect()
    };
    let cost = fs::read_to_string(out.join("cost_per_run.svg")).unwrap();
    let free_groups = report
        .groups
        .iter()
        .filter(|g| g.cost_per_run.is_some_and(|c| c.max == 0.0))
        .count();
    assert!(free_groups > 0);
    let cost_texts = texts("cost_per_run.svg");
    assert_eq!(
        cost_texts.iter().filter(|t| *t == "free (0 RUB)").count(),
        free_groups
    );
    let bars = cost.matches("opacity=\"0.85\"").count();
    assert_eq!(
        bars,
        report.groups.len() - free_groups,
        "no bar for a free run"
    );
    assert!(cost_texts.iter().any(|t| t.contains("(log scale)")));
    assert!(texts("time_vs_cost.svg").contains(&"free".to_string()));

    // The study's figures: beside the groups of its workload, never beside another.
    let matched: Vec<&str> = report
        .study
        .iter()
        .filter_map(|c| c.label.as_deref())
        .collect();
    assert!(!matched.is_empty());
    for label in &matched {
        let group = report.groups.iter().find(|g| g.label == *label).unwrap();
        assert!(group.is_study_workload(), "{label}");
    }
    let wall = texts("wall_time.svg");
    let with_study = report
        .study
        .iter()
        .filter(|c| c.label.is_some() && c.study_wall_s.is_some())
        .count();
    // `study 93.0 s` beside a bar; the legend's `study (2023)` is not one.
    let figure = |t: &&String| {
        t.strip_prefix("study ")
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    };
    assert_eq!(wall.iter().filter(figure).count(), with_study);
    assert!(texts("accuracy.svg").iter().any(|t| figure(&t)));
    assert!(
        texts("time_vs_batch_mnist_28.svg")
            .iter()
            .any(|t| t.starts_with("study (2023), batch 1"))
    );
    assert!(
        !texts("time_vs_batch_fashion-mnist_64.svg")
            .iter()
            .any(|t| t.contains("study")),
        "no study figure beside another workload"
    );
}
