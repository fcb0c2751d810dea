use super::*;

/// A row of MNIST, 28 hidden units, target 94 %.
pub(crate) fn row(batch: u32, rate: f64, seed: u64, images: Option<u64>) -> ConvergenceRow {
    ConvergenceRow {
        dataset: "mnist".into(),
        hidden_units: 28,
        target_accuracy: 0.94,
        batch_size: batch,
        learning_rate: rate,
        seed,
        images_to_target: images,
        epochs_run: 3,
        epoch_images: 60_000,
        best_accuracy: 0.9412,
        eval_every: 6_000,
        version: "0.3.0".into(),
    }
}

fn key(target: f64) -> ConvergenceKey {
    ConvergenceKey {
        dataset: Dataset::Mnist,
        hidden_units: 28,
        target_accuracy: target,
    }
}

#[test]
fn rows_round_trip_through_the_file_with_an_empty_cell_for_a_miss() {
    let dir = tempfile::tempdir().unwrap();
    let file = ConvergenceFile::in_dir(&dir.path().join("new"));
    let rows = [row(1, 0.1, 1, Some(354_000)), row(32, 12.8, 2, None)];
    for r in &rows {
        file.append(r).unwrap();
    }
    let text = fs::read_to_string(file.path()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], CONVERGENCE_HEADER.join(","));
    assert_eq!(
        lines[2],
        "mnist,28,0.94,32,12.8,2,,3,60000,0.9412,6000,0.3.0"
    );
    let read = read_convergence(file.path(), Some(&key(0.94))).unwrap();
    assert_eq!(read, rows);
    assert_eq!(
        read_convergence(&dir.path().join("none.csv"), None).unwrap(),
        []
    );
}

#[test]
fn a_torn_last_line_is_ignored_and_cut_off_by_the_next_append() {
    let dir = tempfile::tempdir().unwrap();
    let file = ConvergenceFile::in_dir(dir.path());
    file.append(&row(1, 0.1, 1, Some(6_000))).unwrap();
    let mut torn = fs::read(file.path()).unwrap();
    torn.extend_from_slice(b"mnist,28,0.94,1,0.2,");
    fs::write(file.path(), &torn).unwrap();
    assert_eq!(read_convergence(file.path(), None).unwrap().len(), 1);
    file.append(&row(1, 0.2, 1, None)).unwrap();
    let read = read_convergence(file.path(), None).unwrap();
    assert_eq!(read, [row(1, 0.1, 1, Some(6_000)), row(1, 0.2, 1, None)]);
}

#[test]
fn a_damaged_file_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(CONVERGENCE_FILE);
    let header = CONVERGENCE_HEADER.join(",");
    let cases = [
        (
            format!("{header}\nmnist,28,0.94,1,0.1,1,,3\n"),
            2,
            "found record with 8 fields",
        ),
        (
            format!("{header}\nmnist,28,0.94,1,fast,1,,3,60000,0.9,6000,v\n"),
            2,
            "invalid float",
        ),
        (
            format!(
                "{header}\nmnist,28,0.94,1,0.1,1,,3,60000,0.9,6000,v\ncifar,28,0.94,1,0.1,1,,3,60000,0.9,6000,v\n"
            ),
            3,
            "unknown dataset 'cifar'; expected one of: mnist, fashion-mnist",
        ),
        (
            format!("{header}\nmnist,28,0.94,1,0.1,1,,3,60000,1.5,6000,v\n"),
            2,
            "best_accuracy is not a fraction",
        ),
        (
            "config,epoch\nc1.4,1\n".to_string(),
            1,
            "the header is 'config,epoch'",
        ),
    ];
    for (text, line, detail) in cases {
        fs::write(&path, text).unwrap();
        let err = read_convergence(&path, None).unwrap_err().to_string();
        let at = format!("'{}' is damaged at line {line}: ", path.display());
        assert!(err.contains(&at) && err.contains(detail), "{err}");
        // Appending to a damaged file is refused only by reading first (as tune does).
    }
}

#[test]
fn rows_of_another_key_name_what_the_file_holds_and_what_was_asked() {
    let dir = tempfile::tempdir().unwrap();
    let file = ConvergenceFile::in_dir(dir.path());
    file.append(&row(1, 0.1, 1, None)).unwrap();
    let err = read_convergence(file.path(), Some(&key(0.95)))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("holds mnist, 28 hidden units, target 94 % (line 2), not mnist, 28 hidden units, target 95 %"),
        "{err}"
    );
    let wide = ConvergenceKey {
        hidden_units: 128,
        ..key(0.94)
    };
    assert!(read_convergence(file.path(), Some(&wide)).is_err());
    assert_eq!(read_convergence(file.path(), None).unwrap().len(), 1);
}

#[test]
fn percentages_drop_trailing_zeros() {
    assert_eq!(percent(0.94), "94");
    assert_eq!(percent(0.975), "97.5");
    assert_eq!(percent(0.123456), "12.3456");
}
