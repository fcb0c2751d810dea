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
