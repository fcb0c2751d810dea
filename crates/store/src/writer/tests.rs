//! Tests of the writer: naming, appending under a lock, surviving failures, upgrading headers.

use super::*;
use crate::header::HEADER_V2;
use crate::reader::read_results;
use crate::testutil::{line_of, sample_row};

fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn file_names_keep_dots_and_replace_separators() {
    assert_eq!(results_file_name("g2.mig").unwrap(), "g2.mig.csv");
    assert_eq!(
        results_file_name("vk-standard-4-8").unwrap(),
        "vk-standard-4-8.csv"
    );
    assert_eq!(
        results_file_name("../etc/passwd").unwrap(),
        "___etc_passwd.csv"
    );
    assert_eq!(results_file_name("a b\\c:d").unwrap(), "a_b_c_d.csv");
    let err = results_file_name("../").unwrap_err();
    assert!(err.to_string().contains("'../'"), "{err}");
    assert!(results_file_name("").is_err());
}

#[test]
fn header_is_written_once_over_two_appends() {
    let dir = tempfile::tempdir().unwrap();
    let results = ResultsFile::open(&dir.path().join("new/sub"), "g2.mig").unwrap();
    assert_eq!(results.path(), dir.path().join("new/sub/g2.mig.csv"));
    let mut row = sample_row();
    results.append(&row).unwrap();
    row.epoch = 2;
    results.append(&row).unwrap();
    let lines = lines(results.path());
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], HEADER.join(","));
    assert_eq!(lines.iter().filter(|l| l.starts_with("run_id,")).count(), 1);
    // Reopening an existing file with the right header is fine.
    ResultsFile::open(&dir.path().join("new/sub"), "g2.mig").unwrap();
}

#[test]
fn a_different_header_is_refused_and_the_file_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c1.32.csv");
    let mut other = HEADER.join(",").replace("platform", "cloud");
    other.push_str("\nrow-of-someone-else\n");
    fs::write(&path, &other).unwrap();

    let err = ResultsFile::open(dir.path(), "c1.32").unwrap_err();
    let message = err.to_string();
    assert!(message.contains("c1.32.csv"), "{message}");
    assert!(
        message.contains("column 4 is 'cloud', expected 'platform'"),
        "{message}"
    );

    // A file replaced after open is checked again on append.
    fs::remove_file(&path).unwrap();
    let results = ResultsFile::open(dir.path(), "c1.32").unwrap();
    fs::write(&path, &other).unwrap();
    let err = results.append(&sample_row()).unwrap_err();
    assert!(
        matches!(err, WriteError::HeaderMismatch { column: 4, .. }),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), other);
}

/// Rows whose cells test the upgrade: quotes, commas, a line end inside a quoted cell,
/// empty optional cells, an interrupted epoch.
fn old_rows() -> Vec<ResultRow> {
    let mut second = sample_row();
    second.run_id = "1764312000-node_1-77-2".to_string();
    second.price_source = "line one\nline \"two\", with a comma".to_string();
    second.device = "cpu".to_string();
    second.gpu_share = None;
    second.test_loss = None;
    second.test_accuracy = None;
    second.cost_background = None;
    second.status = crate::row::Status::Interrupted;
    let mut third = sample_row();
    third.run_id = "run-3".to_string();
    third.host_cpu = "Intel® Xeon® Platinum".to_string();
    vec![sample_row(), second, third]
}

/// The cells of each row of a CSV text, without the header.
fn records(bytes: &[u8]) -> Vec<csv::ByteRecord> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(bytes)
        .byte_records()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn files_of_either_older_header_are_upgraded_whole_before_an_append() {
    for version in [HeaderVersion::V1, HeaderVersion::V2] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g2.mig.csv");
        let torn = "run-torn,2025-01-31T12:";
        let mut text = format!("{}\n", version.columns().join(","));
        for row in old_rows() {
            text.push_str(&line_of(&row, version));
        }
        text.push_str(torn);
        fs::write(&path, &text).unwrap();
        // Read before the upgrade, from a copy elsewhere.
        let copy = tempfile::tempdir().unwrap();
        fs::write(copy.path().join("g2.mig.csv"), &text).unwrap();
        let before = read_results(copy.path()).unwrap();
        assert_eq!(before.rows.len(), 3, "{version:?}: {:?}", before.problems);

        let results = ResultsFile::open(dir.path(), "g2.mig").unwrap();
        assert_eq!(results.upgraded_rows(), Some(3), "{version:?}");
        assert_eq!(results.upgraded_from(), Some(version));
        let upgraded = fs::read(&path).unwrap();
        // Every old cell is in the column of its name; the new columns are filled.
        let (old, new) = (records(text.as_bytes()), records(&upgraded));
        assert_eq!(new.len(), old.len(), "{version:?}");
        for (old, new) in old.iter().zip(&new).take(3) {
            assert_eq!(new.len(), HEADER.len());
            for (i, column) in version.columns().iter().enumerate() {
                let at = HEADER.iter().position(|c| c == column).unwrap();
                assert_eq!(&new[at], &old[i], "{version:?} {column}");
            }
            let cell = |name: &str| &new[HEADER.iter().position(|c| *c == name).unwrap()];
            assert_eq!(cell("dataset"), b"mnist");
            assert_eq!(cell("hidden_units"), b"28");
            if version == HeaderVersion::V1 {
                for unknown in ["step", "order", "init_weights"] {
                    assert_eq!(cell(unknown), b"", "{unknown}");
                }
            }
        }
        let upgraded = String::from_utf8(upgraded).unwrap();
        assert!(upgraded.starts_with(&format!("{}\n", HEADER.join(","))));
        assert!(
            upgraded.ends_with(&format!("\n{torn}")),
            "a line that is not a whole row is kept as it was"
        );
        // Reading the old file and the upgraded one gives the same rows and problems.
        let after = read_results(dir.path()).unwrap();
        assert_eq!(after.rows, before.rows, "{version:?}");
        assert_eq!(
            after.problems.len(),
            1,
            "the torn line: {:?}",
            after.problems
        );
        assert_eq!(after.problems[0].line, before.problems[0].line);

        let mut new = sample_row();
        new.run_id = "run-new".to_string();
        results.append(&new).unwrap();
        let set = read_results(dir.path()).unwrap();
        assert_eq!(set.rows.len(), 4);
        assert_eq!(set.rows[3], new);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["g2.mig.csv"], "no file is left aside");
        // Opening it again finds the current header: nothing more to upgrade.
        let again = ResultsFile::open(dir.path(), "g2.mig").unwrap();
        assert_eq!((again.upgraded_rows(), again.upgraded_from()), (None, None));
    }
}

#[test]
fn writers_racing_to_an_old_file_upgrade_it_once_and_lose_no_row() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g2.mig.csv");
    let mut text = format!("{}\n", HEADER_V2.join(","));
    for row in old_rows() {
        text.push_str(&line_of(&row, HeaderVersion::V2));
    }
    fs::write(&path, &text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
    }
    let upgrades: Vec<Option<HeaderVersion>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|writer| {
                let dir = dir.path();
                scope.spawn(move || {
                    let results = ResultsFile::open(dir, "g2.mig").unwrap();
                    let mut row = sample_row();
                    row.run_id = format!("writer-{writer}");
                    results.append(&row).unwrap();
                    results.upgraded_from()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let upgraded: Vec<_> = upgrades.iter().flatten().collect();
    assert_eq!(upgraded, [&HeaderVersion::V2], "{upgrades:?}");
    let set = read_results(dir.path()).unwrap();
    assert!(set.problems.is_empty(), "{:?}", set.problems);
    assert_eq!(set.rows.len(), 3 + 4);
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no file left aside"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o640, "the old file's permissions are kept");
    }
}

#[test]
fn a_shorter_header_names_the_missing_column() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.csv");
    fs::write(&path, "run_id,started_utc\n").unwrap();
    let err = ResultsFile::open(dir.path(), "x").unwrap_err();
    assert!(
        err.to_string()
            .contains("column 3 is '<missing>', expected 'config'"),
        "{err}"
    );
}

/// A results file with one row, then `torn` with no line end, as a writer that died
/// mid-line leaves it.
fn file_with_a_torn_line(torn: &[u8]) -> (tempfile::TempDir, ResultsFile) {
    let dir = tempfile::tempdir().unwrap();
    let results = ResultsFile::open(dir.path(), "g2.mig").unwrap();
    results.append(&sample_row()).unwrap();
    let mut file = OpenOptions::new()
        .append(true)
        .open(results.path())
        .unwrap();
    file.write_all(torn).unwrap();
    (dir, results)
}

#[test]
fn a_row_after_a_torn_line_starts_on_its_own_line() {
    let (_dir, results) = file_with_a_torn_line(b"run-torn,2025-01-31T12:");
    results.append(&sample_row()).unwrap();
    let lines = lines(results.path());
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[2], "run-torn,2025-01-31T12:");
    assert_eq!(lines[3], lines[1]);
}

#[test]
fn a_line_torn_inside_a_quoted_cell_is_closed_and_the_next_row_read_whole() {
    // lavapipe's adapter name holds a comma, so its cell is quoted; cut inside it.
    let (dir, results) =
        file_with_a_torn_line(b"run-torn,2025-01-31T12:00:00Z,g2.mig,\"llvmpipe (LLVM 19.1.7,");
    let after = ResultRow {
        run_id: "run-after".to_string(),
        ..sample_row()
    };
    results.append(&after).unwrap();
    let set = crate::read_results(dir.path()).unwrap();
    assert_eq!(
        set.rows.len(),
        2,
        "both whole rows read: {:?}",
        set.problems
    );
    assert_eq!(set.rows[1], after);
    assert_eq!(
        set.problems.len(),
        1,
        "the torn line listed: {:?}",
        set.problems
    );
}

#[test]
fn concurrent_appenders_write_whole_lines() {
    let dir = tempfile::tempdir().unwrap();
    let per_thread = 200;
    std::thread::scope(|scope| {
        for writer in 0..2 {
            let dir = dir.path();
            scope.spawn(move || {
                // Each thread opens its own handle, as two runner processes would.
                let results = ResultsFile::open(dir, "g2.mig").unwrap();
                for i in 0..per_thread {
                    let mut row = sample_row();
                    row.run_id = format!("writer-{writer}");
                    row.epoch = i + 1;
                    // Long enough that a torn write would show.
                    row.price_source = "x".repeat(4000);
                    results.append(&row).unwrap();
                }
            });
        }
    });
    let path = dir.path().join("g2.mig.csv");
    let lines = lines(&path);
    assert_eq!(lines.len(), 1 + 2 * per_thread as usize);
    assert_eq!(lines.iter().filter(|l| l.starts_with("run_id,")).count(), 1);
    let set = read_results(dir.path()).unwrap();
    assert!(set.problems.is_empty(), "{:?}", set.problems);
    assert_eq!(set.rows.len(), 400);
    for writer in 0..2 {
        let mut epochs: Vec<u32> = set
            .rows
            .iter()
            .filter(|r| r.run_id == format!("writer-{writer}"))
            .map(|r| r.epoch)
            .collect();
        epochs.sort_unstable();
        assert_eq!(epochs, (1..=per_thread).collect::<Vec<_>>());
    }
}

#[test]
fn rows_read_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    let results = ResultsFile::open(dir.path(), "g2.mig").unwrap();
    let mut first = sample_row();
    first.gpu_share = None;
    first.test_loss = None;
    first.test_accuracy = None;
    first.cost_background = None;
    first.status = crate::row::Status::Interrupted;
    let mut second = sample_row();
    second.run_id = "run-2".to_string();
    results.append(&first).unwrap();
    results.append(&second).unwrap();
    let set = read_results(dir.path()).unwrap();
    assert!(set.problems.is_empty(), "{:?}", set.problems);
    assert_eq!(set.rows, vec![first, second]);
}
