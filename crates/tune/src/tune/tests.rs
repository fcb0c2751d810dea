#![allow(clippy::unwrap_used)]

use super::*;
use crate::convergence::tests::row;

fn spec() -> TuneSpec {
    TuneSpec {
        dataset: Dataset::Mnist,
        hidden_units: 28,
        target_accuracy: 0.94,
        batch_sizes: DEFAULT_BATCH_SIZES.to_vec(),
        learning_rates: Vec::new(),
        seeds: DEFAULT_SEEDS,
        epochs: DEFAULT_EPOCHS,
        eval_every: None,
        out: PathBuf::from("results"),
        data_dir: None,
        limit: None,
        shard: None,
        workers: None,
    }
}

#[test]
fn settings_out_of_range_name_their_flag_and_what_is_accepted() {
    assert!(spec().validate().is_ok());
    let cases = [
        (
            TuneSpec {
                target_accuracy: 1.0,
                ..spec()
            },
            "--target-accuracy: 100 % is outside (0, 100)",
        ),
        (
            TuneSpec {
                target_accuracy: 0.0,
                ..spec()
            },
            "--target-accuracy: 0 % is outside (0, 100)",
        ),
        (
            TuneSpec {
                eval_every: Some(0),
                ..spec()
            },
            "--eval-every: 0 is not a number of images",
        ),
        (
            TuneSpec {
                batch_sizes: vec![],
                ..spec()
            },
            "--batch-sizes: expected batch sizes from 1 to 4096",
        ),
        (
            TuneSpec {
                batch_sizes: vec![1, 5000],
                ..spec()
            },
            "--batch-sizes",
        ),
        (
            TuneSpec {
                learning_rates: vec![0.1, -1.0],
                ..spec()
            },
            "--learning-rates: -1 is not a learning rate",
        ),
        (TuneSpec { seeds: 0, ..spec() }, "--seeds: expected"),
        (
            TuneSpec {
                hidden_units: 0,
                ..spec()
            },
            "--hidden-units: 0 is outside 1 to 4096",
        ),
    ];
    for (bad, expected) in cases {
        let err = bad.validate().unwrap_err().to_string();
        assert!(err.starts_with(expected), "{err}");
    }
}

#[test]
fn shards_take_every_nth_batch_size_in_increasing_order() {
    let sharded = |index, count| TuneSpec {
        batch_sizes: vec![256, 1, 4, 16, 1, 64],
        shard: Some(Shard { index, count }),
        ..spec()
    };
    assert_eq!(sharded(0, 2).shard_batch_sizes(), [1, 16, 256]);
    assert_eq!(sharded(1, 2).shard_batch_sizes(), [4, 64]);
    assert_eq!(sharded(4, 5).shard_batch_sizes(), [256]);
    assert_eq!(sharded(5, 6).shard_batch_sizes(), [] as [u32; 0]);
    let whole = TuneSpec {
        shard: None,
        ..sharded(0, 1)
    };
    assert_eq!(whole.shard_batch_sizes(), [1, 4, 16, 64, 256]);
}

#[test]
fn a_tune_counts_rows_within_its_epochs_and_runs_again_a_shorter_cap_s_misses() {
    // 60,000 images an epoch: reached in epoch 3.
    let hit = row(1, 0.1, 1, Some(150_000));
    assert_eq!(within_cap(&hit, 3), Some(hit.clone()));
    let late = within_cap(&hit, 2).unwrap();
    assert_eq!((late.images_to_target, late.epochs_run), (None, 2));
    // A miss after 3 epochs holds for a cap of 3 or fewer, not for more.
    let miss = row(1, 0.1, 1, None);
    assert_eq!(within_cap(&miss, 3), Some(miss.clone()));
    assert_eq!(within_cap(&miss, 2), Some(miss.clone()));
    assert_eq!(within_cap(&miss, 4), None);
    // A run abandoned at chance holds for any cap.
    let diverged = ConvergenceRow {
        epochs_run: 2,
        best_accuracy: 0.11,
        ..miss
    };
    assert_eq!(within_cap(&diverged, 20), Some(diverged.clone()));
}

#[test]
fn a_file_measured_another_way_is_refused_with_the_flag_to_give() {
    let file = ConvergenceFile::in_dir(std::path::Path::new("out"));
    let rows = [row(1, 0.1, 1, None), row(1, 0.1, 2, None)];
    assert!(check_measurement(&file, &rows, 60_000, 6_000).is_ok());
    let err = check_measurement(&file, &rows, 60_000, 600)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("holds runs with eval_every 6000 (line 2), and this tune asks for 600; give --eval-every 6000"),
        "{err}"
    );
    let err = check_measurement(&file, &rows, 1_000, 6_000)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("epoch_images 60000 (line 2)") && err.contains("--limit"),
        "{err}"
    );
}
