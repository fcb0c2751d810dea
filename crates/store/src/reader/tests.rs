//! Tests of the reader: what it loads, what it skips, and the problems it reports.

use super::*;
use crate::testutil::{line_of, sample_row};
use crate::writer::ResultsFile;

#[test]
fn an_empty_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("notes.txt"), "not a csv").unwrap();
    let err = read_results(dir.path()).unwrap_err();
    assert!(matches!(err, ReadError::NoResultFiles { .. }));
    let message = err.to_string();
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );
    assert!(message.contains("no *.csv file"), "{message}");
}

#[test]
fn the_convergence_file_beside_the_results_is_passed_by() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join(CONVERGENCE_FILE),
        "dataset,hidden_units\nmnist,28\n",
    )
    .unwrap();
    assert!(matches!(
        read_results(dir.path()).unwrap_err(),
        ReadError::NoResultFiles { .. }
    ));
    ResultsFile::open(dir.path(), "c1.4")
        .unwrap()
        .append(&sample_row())
        .unwrap();
    let set = read_results(dir.path()).unwrap();
    assert_eq!((set.files.len(), set.rows.len()), (1, 1));
    assert!(set.problems.is_empty(), "{:?}", set.problems);
}

#[test]
fn a_missing_folder_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = read_results(&missing).unwrap_err();
    assert!(
        err.to_string().starts_with("cannot read results folder"),
        "{err}"
    );
    assert!(err.to_string().contains("nope"), "{err}");
}

#[test]
fn the_folders_of_several_hosts_are_read_together() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = Vec::new();
    for (host, folder) in [("node_a", "node_a"), ("node_b", "deep/node_b")] {
        let mut row = sample_row();
        row.run_id = format!("1764312000-{host}-77-1");
        ResultsFile::open(&dir.path().join(folder), "g2.mig")
            .unwrap()
            .append(&row)
            .unwrap();
        rows.push(row);
    }
    let set = read_results(dir.path()).unwrap();
    assert_eq!(set.files.len(), 2);
    assert!(set.problems.is_empty(), "{:?}", set.problems);
    let mut hosts: Vec<_> = set.rows.iter().filter_map(|r| r.host()).collect();
    hosts.sort_unstable();
    assert_eq!(hosts, ["node_a", "node_b"]);
    assert_eq!(set.rows.len(), rows.len());
}

#[test]
fn a_csv_from_another_tool_is_listed_and_the_rest_used() {
    let dir = tempfile::tempdir().unwrap();
    ResultsFile::open(dir.path(), "g2.mig")
        .unwrap()
        .append(&sample_row())
        .unwrap();
    fs::write(
        dir.path().join("hyperfine.csv"),
        "command,mean,stddev\nsleep 1,1.0,0.0\n",
    )
    .unwrap();
    fs::write(dir.path().join("empty.csv"), "").unwrap();
    let set = read_results(dir.path()).unwrap();
    assert_eq!(set.rows, vec![sample_row()]);
    assert_eq!(set.files.len(), 3);
    assert_eq!(set.problems.len(), 2, "{:?}", set.problems);
    let shown: Vec<String> = set.problems.iter().map(ToString::to_string).collect();
    assert!(
        shown[0].ends_with("empty.csv: the file is empty; skipped"),
        "{shown:?}"
    );
    assert!(
        shown[1].ends_with(
            "hyperfine.csv:1: not a replay results file: header column 1 is 'command', \
             expected 'run_id'; file skipped"
        ),
        "{shown:?}"
    );
}

#[test]
fn a_truncated_last_line_is_listed_and_the_valid_rows_used() {
    let dir = tempfile::tempdir().unwrap();
    let results = ResultsFile::open(dir.path(), "g2.mig").unwrap();
    results.append(&sample_row()).unwrap();
    results.append(&sample_row()).unwrap();
    let text = fs::read_to_string(results.path()).unwrap();
    // Cut the last row in the middle, as a crash during a write would.
    let cut = text.len() - 40;
    fs::write(results.path(), &text[..cut]).unwrap();
    let set = read_results(dir.path()).unwrap();
    assert_eq!(set.rows.len(), 1);
    assert_eq!(set.problems.len(), 1);
    let problem = &set.problems[0];
    assert_eq!(problem.line, Some(3));
    assert!(
        problem.message.contains("expected 46"),
        "{}",
        problem.message
    );
    assert!(
        problem.message.contains("no line end"),
        "{}",
        problem.message
    );
}

#[test]
fn a_copied_file_does_not_count_its_runs_twice() {
    let dir = tempfile::tempdir().unwrap();
    let results = ResultsFile::open(dir.path(), "g2.mig").unwrap();
    results.append(&sample_row()).unwrap();
    let mut second = sample_row();
    second.run_id = "run-2".to_string();
    results.append(&second).unwrap();
    let copy = dir.path().join("zz-copy.csv");
    fs::copy(results.path(), &copy).unwrap();
    let set = read_results(dir.path()).unwrap();
    assert_eq!(set.rows, vec![sample_row(), second]);
    let shown: Vec<String> = set.problems.iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 2, "{shown:?}");
    let first = format!(
        "{}:2: run run-1 epoch 1 (at 60000 images) already read at ",
        copy.display()
    );
    assert!(shown[0].starts_with(&first), "{shown:?}");
    let original = format!("{}:2; duplicate row skipped", results.path().display());
    assert!(shown[0].ends_with(&original), "{shown:?}");
    assert!(shown[1].contains("run run-2 epoch 1"), "{shown:?}");
}

#[test]
fn files_with_an_older_header_are_read_with_what_their_rows_certainly_had() {
    for version in [HeaderVersion::V1, HeaderVersion::V2, HeaderVersion::V3] {
        let dir = tempfile::tempdir().unwrap();
        let mut row = sample_row();
        // Values that the fill must not be mistaken for.
        row.dataset = "fashion-mnist".to_string();
        row.hidden_units = 64;
        let header = version.columns().join(",");
        let text = format!("{header}\n{}", line_of(&row, version));
        fs::write(dir.path().join("old.csv"), text).unwrap();
        let set = read_results(dir.path()).unwrap();
        assert!(set.problems.is_empty(), "{version:?}: {:?}", set.problems);
        // Version 3 had the dataset and width; no older version the time-to-accuracy columns.
        let mut expected = ResultRow {
            images: None,
            train_s: None,
            eval_s: None,
            ..row.clone()
        };
        if version < HeaderVersion::V3 {
            expected.dataset = "mnist".to_string();
            expected.hidden_units = 28;
        }
        if version == HeaderVersion::V1 {
            expected.step = String::new();
            expected.order = String::new();
            expected.init_weights = String::new();
        }
        assert_eq!(set.rows, vec![expected], "{version:?}");
    }
}

#[test]
fn older_step_names_are_read_as_todays_and_the_file_is_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = HEADER.join(",") + "\n";
    for (run, old) in [("r1", "lit-pixels"), ("r2", "dense"), ("r3", "fast")] {
        let mut row = sample_row();
        row.run_id = run.to_string();
        row.step = old.to_string();
        text.push_str(&line_of(&row, HeaderVersion::CURRENT));
    }
    let path = dir.path().join("old-steps.csv");
    fs::write(&path, &text).unwrap();
    let set = read_results(dir.path()).unwrap();
    assert!(set.problems.is_empty(), "{:?}", set.problems);
    let steps: Vec<&str> = set.rows.iter().map(|r| r.step.as_str()).collect();
    assert_eq!(
        steps,
        ["autodiff (lit pixels)", "autodiff (dense)", "manual"]
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn earlier_rows_tell_how_long_an_image_takes_when_made_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    let results = ResultsFile::open(dir.path(), "g2.mig").unwrap();
    for (run, rate) in [("a", 1000.0), ("b", 2000.0), ("c", 4000.0)] {
        let row = ResultRow {
            run_id: run.to_string(),
            samples_per_s: rate,
            ..sample_row()
        };
        results.append(&row).unwrap();
    }
    // The same configuration at another step and another batch size: 20 and 50 times
    // faster, and neither counts for the other.
    for (run, step, batch_size, rate) in [("d", "autodiff", 1, 50.0), ("e", "fused", 64, 100_000.0)]
    {
        let row = ResultRow {
            run_id: run.to_string(),
            step: step.to_string(),
            batch_size,
            samples_per_s: rate,
            ..sample_row()
        };
        results.append(&row).unwrap();
    }
    let set = read_results(dir.path()).unwrap();
    let row = sample_row();
    let key = TimingKey {
        config: "g2.mig",
        implementation: "burn",
        backend: "wgpu",
        step: "fused",
        dataset: "mnist",
        hidden_units: 28,
        batch_size: 1,
    };
    assert!(key.matches(&row));
    assert_eq!(set.seconds_per_image(&key), Some(1.0 / 2000.0));
    let autodiff = TimingKey {
        step: "autodiff",
        ..key
    };
    assert_eq!(set.seconds_per_image(&autodiff), Some(1.0 / 50.0));
    let batch = TimingKey {
        batch_size: 64,
        ..key
    };
    assert_eq!(set.seconds_per_image(&batch), Some(1.0 / 100_000.0));
    for other in [
        TimingKey {
            backend: "flex",
            ..key
        },
        TimingKey {
            config: "c1.4",
            ..key
        },
        TimingKey {
            implementation: "manual",
            ..key
        },
        TimingKey {
            dataset: "fashion-mnist",
            ..key
        },
        TimingKey {
            hidden_units: 512,
            ..key
        },
    ] {
        assert_eq!(set.seconds_per_image(&other), None, "{other:?}");
    }
}

#[test]
fn a_byte_order_mark_is_not_part_of_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let results = ResultsFile::open(dir.path(), "g2.mig").unwrap();
    results.append(&sample_row()).unwrap();
    let mut text = b"\xEF\xBB\xBF".to_vec();
    text.extend(fs::read(results.path()).unwrap());
    fs::write(results.path(), text).unwrap();
    let set = read_results(dir.path()).unwrap();
    assert!(set.problems.is_empty(), "{:?}", set.problems);
    assert_eq!(set.rows, vec![sample_row()]);
}

/// The CSV line of `row` with some columns replaced by raw text.
fn edited_line(edits: &[(&str, &str)]) -> String {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    writer.serialize(sample_row()).unwrap();
    let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let record = reader.records().next().unwrap().unwrap();
    let mut cells: Vec<String> = record.iter().map(str::to_string).collect();
    for (column, value) in edits {
        let i = HEADER.iter().position(|h| h == column).unwrap();
        cells[i] = value.to_string();
    }
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    writer.write_record(&cells).unwrap();
    String::from_utf8(writer.into_inner().unwrap()).unwrap()
}

#[test]
fn malformed_rows_name_their_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let results = ResultsFile::open(dir.path(), "g2.mig").unwrap();
    results.append(&sample_row()).unwrap();
    let good = fs::read_to_string(results.path()).unwrap();
    let text = format!(
        "{good}{}\n\r\n{}{}{}",
        edited_line(&[("wall_s", "ninety-three")]),
        edited_line(&[("status", "done")]),
        edited_line(&[("test_accuracy", "91.27")]),
        edited_line(&[("run_id", "run-2")]),
    );
    fs::write(results.path(), text).unwrap();
    let set = read_results(dir.path()).unwrap();
    let second = ResultRow {
        run_id: "run-2".to_string(),
        ..sample_row()
    };
    assert_eq!(set.rows, vec![sample_row(), second]);
    let lines: Vec<Option<u64>> = set.problems.iter().map(|p| p.line).collect();
    assert_eq!(lines, vec![Some(3), Some(6), Some(7)]);
    assert!(
        set.problems[0].message.starts_with("column wall_s:"),
        "{:?}",
        set.problems
    );
    assert!(
        set.problems[1].message.starts_with("column status:"),
        "{:?}",
        set.problems
    );
    assert!(
        set.problems[2]
            .message
            .starts_with("test_accuracy is 91.27"),
        "{:?}",
        set.problems
    );
}
