//! The groups' tests: how rows form groups, their per-epoch summaries, lines and labels.
#![allow(clippy::unwrap_used)]

use super::*;
use crate::report::Report;
use crate::report::tests::{Edit, row, set};

#[test]
fn overrides_form_their_own_group_with_a_distinct_label() {
    let mut limited = row("r2", "g2.mig", "burn", 1, 1.0, 0.02, 0.5);
    limited.samples = 1000;
    let mut other_backend = row("r3", "g2.mig", "burn", 1, 80.0, 1.7, 0.91);
    other_backend.backend = "ndarray".to_string();
    let mut autodiff = row("r4", "g2.mig", "burn", 1, 150.0, 3.2, 0.91);
    autodiff.step = "autodiff (dense)".to_string();
    let mut file_order = row("r5", "g2.mig", "burn", 1, 93.0, 2.0, 0.91);
    file_order.order = "file".to_string();
    let mut from_file = row("r6", "g2.mig", "burn", 1, 93.0, 2.0, 0.91);
    from_file.init_weights = "sha256:0123456789abcdef".to_string();
    let rows = vec![
        row("r1", "g2.mig", "burn", 1, 93.0, 2.0, 0.91),
        limited,
        other_backend,
        autodiff,
        file_order,
        from_file,
    ];
    let report = Report::build(&set(rows), &[]);
    let labels: Vec<&str> = report.groups.iter().map(|g| g.label.as_str()).collect();
    let fused = "g2.mig / burn / wgpu / fused";
    assert_eq!(
        labels,
        vec![
            "g2.mig / burn / ndarray / fused".to_string(),
            "g2.mig / burn / wgpu / autodiff (dense)".to_string(),
            format!("{fused} (file order, weights seeded, 60000 samples)"),
            format!("{fused} (shuffled order, weights seeded, 1000 samples)"),
            format!("{fused} (shuffled order, weights seeded, 60000 samples)"),
            format!("{fused} (shuffled order, weights sha256:0123456789abcdef, 60000 samples)"),
        ]
    );
}

#[test]
fn every_setting_that_changes_a_measurement_makes_its_own_group() {
    let base = || row("r", "c1.4", "burn", 1, 10.0, 0.1, 0.9);
    let edits: Vec<(&str, Edit)> = vec![
        ("device", |r| r.device = "NVIDIA H200".to_string()),
        ("throttle", |r| {
            r.throttle_method = "spatial (1 cube)".to_string()
        }),
        ("dataset", |r| r.dataset = "fashion-mnist".to_string()),
        ("hidden units", |r| r.hidden_units = 64),
        ("batch size", |r| r.batch_size = 32),
        ("learning rate", |r| r.learning_rate = 0.05),
        ("host CPU", |r| r.host_cpu = "Intel Xeon".to_string()),
        ("host cores", |r| r.host_cores = 64),
        ("host", |r| r.run_id = "1764312000-node_b-77-1".to_string()),
        ("threads", |r| r.threads_used = 1),
        ("GPU share", |r| r.gpu_share = Some(0.5)),
    ];
    for (what, edit) in edits {
        let mut other = base();
        other.run_id.push_str("-other");
        edit(&mut other);
        let mut first = base();
        if what == "host" {
            first.run_id = "1764312000-node_a-77-1".to_string();
        }
        let report = Report::build(&set(vec![first, other]), &[]);
        assert_eq!(report.groups.len(), 2, "{what}");
        let labels: BTreeSet<&str> = report.groups.iter().map(|g| g.label.as_str()).collect();
        assert_eq!(labels.len(), 2, "{what}: {labels:?}");
    }
}

#[test]
fn the_epochs_of_one_time_slice_run_stay_in_one_group_whatever_each_missed() {
    let methods = [
        "time-slice (busy 0.43, 2.35x the unthrottled time) + memory cap",
        "time-slice + memory cap",
        "time-slice (busy 0.41, 2.44x the unthrottled time) + memory cap",
    ];
    let rows: Vec<ResultRow> = (1..=3)
        .zip(methods)
        .map(|(epoch, method)| {
            let mut r = row("r1", "g2.mig", "burn", epoch, 93.0, 2.0, 0.91);
            r.throttle_method = method.to_string();
            r
        })
        .collect();
    let report = Report::build(&set(rows), &[]);
    assert_eq!(report.groups.len(), 1, "{:#?}", report.groups);
    let g = &report.groups[0];
    assert_eq!((g.runs, g.complete_runs, g.epochs.len()), (1, 1, 3));
    assert_eq!(g.throttle_method, "time-slice + memory cap");
    let misses: Vec<Vec<&str>> = g
        .epochs
        .iter()
        .map(|e| e.throttle_misses.iter().map(|m| m.miss.as_str()).collect())
        .collect();
    assert_eq!(
        misses,
        [
            vec!["busy 0.43, 2.35x the unthrottled time"],
            vec![],
            vec!["busy 0.41, 2.44x the unthrottled time"],
        ]
    );
    assert!(g.epochs[0].throttle_misses.iter().all(|m| m.run_id == "r1"));
    use crate::export::Exporter as _;
    let markdown = crate::export::MarkdownExporter::default()
        .render(&report)
        .unwrap();
    let markdown = String::from_utf8(markdown).unwrap();
    assert!(
        markdown.contains(
            "- g2.mig / burn, epoch 3: run `r1`: busy 0.41, 2.44x the unthrottled time\n"
        ),
        "{markdown}"
    );
    assert!(!markdown.contains(", epoch 2: run"), "{markdown}");
    let epochs = crate::table::table(crate::table::TableKind::Epochs, &report);
    let column = epochs
        .columns
        .iter()
        .position(|c| c.key == "throttle_misses")
        .unwrap();
    assert_eq!(
        epochs.rows[0][column],
        crate::table::Cell::Text("r1: busy 0.43, 2.35x the unthrottled time".to_string())
    );
}

#[test]
fn a_line_joins_groups_that_differ_only_in_batch_size_and_threads_used() {
    let group = |run: &str, batch_size: u32, threads_used: u32| {
        let mut r = row(run, "c1.4", "burn", 1, 10.0, 0.1, 0.9);
        (r.batch_size, r.threads_used) = (batch_size, threads_used);
        r
    };
    let count = |rows: Vec<ResultRow>| {
        let report = Report::build(&set(rows), &[]);
        let groups: Vec<&GroupReport> = report.groups.iter().collect();
        let lines = lines(&groups);
        assert_eq!(lines.iter().map(BTreeMap::len).sum::<usize>(), groups.len());
        lines.len()
    };
    assert_eq!(count(vec![group("a", 1, 1), group("b", 64, 4)]), 1);
    assert_eq!(count(vec![group("a", 1, 1), group("b", 1, 4)]), 2);
    let mut other = group("b", 64, 4);
    other.learning_rate = 0.05;
    assert_eq!(count(vec![group("a", 1, 1), other]), 2);
}

#[test]
fn two_devices_and_two_throttle_methods_make_four_groups_in_the_report() {
    let mut rows = Vec::new();
    for (d, device) in ["NVIDIA H200", "llvmpipe (LLVM 19.1.7, 256 bits)"]
        .iter()
        .enumerate()
    {
        for (m, method) in ["spatial (1 cube)", "time-slice"].iter().enumerate() {
            for seed in 0..2 {
                let mut r = row(
                    &format!("r{d}{m}{seed}"),
                    "g2.mig",
                    "burn",
                    1,
                    93.0,
                    2.0,
                    0.91,
                );
                r.device = device.to_string();
                r.throttle_method = method.to_string();
                rows.push(r);
            }
        }
    }
    let report = Report::build(&set(rows), &[]);
    assert_eq!(report.groups.len(), 4);
    assert!(report.groups.iter().all(|g| g.runs == 2));
    let labels: BTreeSet<&str> = report.groups.iter().map(|g| g.label.as_str()).collect();
    assert_eq!(labels.len(), 4, "{labels:?}");
    assert!(
        labels.contains("g2.mig / burn / wgpu / fused (throttle time-slice, on NVIDIA H200)"),
        "{labels:?}"
    );
    use crate::export::Exporter as _;
    let markdown = crate::export::MarkdownExporter::default()
        .render(&report)
        .unwrap();
    let markdown = String::from_utf8(markdown).unwrap();
    for device in ["on NVIDIA H200", "on llvmpipe (LLVM 19.1.7, 256 bits)"] {
        for method in ["GPU 0.125: spatial (1 cube)", "GPU 0.125: time-slice"] {
            let rows = markdown
                .lines()
                .filter(|l| l.starts_with("| g2.mig |"))
                .filter(|l| l.contains(device) && l.contains(method))
                .count();
            // One row in the epoch table, one in the cost table.
            assert_eq!(rows, 2, "{device}, {method}: {markdown}");
        }
    }
}

#[test]
fn the_spans_of_an_epoch_make_one_epoch_and_a_partial_last_epoch_times_nothing() {
    use crate::report::epoch::tests::span;
    // Two runs, 60,000 images an epoch, evaluated every 30,000: r1 reaches 94 % at 90,000
    // images (half-way through epoch 2), r2 at the end of epoch 2.
    let rows = vec![
        span("r1", 1, 30_000, 30_000, 3.0, 3.0, 0.3, 0.90),
        span("r1", 1, 30_000, 60_000, 5.0, 8.0, 0.5, 0.92),
        span("r1", 2, 30_000, 90_000, 1.0, 9.0, 0.1, 0.94),
        span("r2", 1, 30_000, 30_000, 4.0, 4.0, 0.4, 0.89),
        span("r2", 1, 30_000, 60_000, 4.0, 8.0, 0.4, 0.91),
        span("r2", 2, 30_000, 90_000, 4.0, 12.0, 0.4, 0.93),
        span("r2", 2, 30_000, 120_000, 4.0, 16.0, 0.4, 0.95),
    ];
    let report = Report::build(&set(rows), &[]);
    assert_eq!(report.rows_read, 7);
    assert_eq!(report.groups.len(), 1, "{:#?}", report.groups);
    let g = &report.groups[0];
    assert_eq!((g.samples, g.runs, g.complete_runs), (Some(60_000), 2, 2));
    let (e1, e2) = (&g.epochs[0], &g.epochs[1]);
    // Epoch 1: 8 s for both runs, 7,500 images/s.
    let w1 = e1.wall_s.unwrap();
    assert_eq!(
        (e1.runs, e1.stopped_runs, w1.count, w1.median),
        (2, 0, 2, 8.0)
    );
    assert_eq!(e1.samples_per_s, Some(7500.0));
    assert_eq!(e1.test_accuracy_spread.unwrap().max, 0.92);
    // Epoch 2: r1 stopped half-way, timed by r2 alone; its accuracy counts.
    let w2 = e2.wall_s.unwrap();
    assert_eq!(
        (e2.runs, e2.stopped_runs, w2.count, w2.median),
        (2, 1, 1, 8.0)
    );
    assert_eq!(e2.test_accuracy, Some(0.945));
    assert_eq!(
        (g.wall_s.unwrap().count, g.wall_s.unwrap().median),
        (3, 8.0)
    );
    assert!((g.cost_per_1000_epochs.unwrap() - 800.0).abs() < 1e-9);
    // A run costs every span: r1 0.9, r2 1.6.
    let cost = g.cost_per_run.unwrap();
    assert!((cost.min - 0.9).abs() < 1e-12 && (cost.max - 1.6).abs() < 1e-12);
    let t = g.to_target.as_ref().unwrap();
    assert_eq!((t.runs, t.missed, t.scored_runs), (2, 0, 2));
    assert_eq!(t.time_to_target_s, Some(12.5));
    assert_eq!(t.epochs_to_target, Some(1.75));
}

#[test]
fn a_group_whose_runs_all_stopped_in_their_first_epoch_keeps_its_accuracy_without_times() {
    use crate::report::epoch::tests::span;
    let rows = vec![
        span("r1", 1, 12_000, 12_000, 1.0, 1.0, 0.1, 0.95),
        span("r2", 1, 18_000, 18_000, 1.5, 1.5, 0.15, 0.94),
    ];
    let report = Report::build(&set(rows), &[]);
    assert_eq!(
        report.groups.len(),
        1,
        "seeds stay together: {:#?}",
        report.groups
    );
    let g = &report.groups[0];
    assert_eq!(
        (g.samples, g.wall_s, g.cost_per_1000_epochs),
        (None, None, None)
    );
    assert_eq!(g.epochs[0].test_accuracy, Some(0.945));
    assert!(g.label.contains("c1.4 / burn"), "{}", g.label);
    assert!(
        setup(g, false).contains("unknown samples, target 94 %"),
        "{}",
        setup(g, false)
    );
    assert_eq!(g.to_target.as_ref().unwrap().time_to_target_s, Some(1.25));
    assert!(!g.is_study_workload());
    // Every chart and table still renders.
    for exporter in crate::export::all_exporters(&report) {
        exporter.render(&report).unwrap();
    }
}
