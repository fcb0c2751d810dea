//! The sweep's tests: estimates from earlier rows, which runs count as done, and shards
//! that take every item once.
#![allow(clippy::unwrap_used)]

use super::done::{BACKGROUND_BILLING, complete_runs};
use super::*;

/// The plan of the shipped c1.4 (flex, fused by default) with `overrides`.
fn c14(overrides: Overrides) -> Plan {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/c14.toml");
    Plan::resolve(&path, &overrides, Options::default()).unwrap()
}

fn item(index: usize, plan: Plan) -> SweepItem {
    SweepItem {
        index,
        plan,
        repeat: 1,
    }
}

#[test]
fn the_estimate_counts_only_earlier_rows_made_the_same_way() {
    use replay_core::{Step, StepKind};
    use replay_store::ResultRow;
    use replay_store::testutil::sample_row;
    let row = |step: StepKind, batch_size: u32, samples_per_s: f64| ResultRow {
        config: "c1.4".to_string(),
        backend: "flex".to_string(),
        step: step.to_string(),
        batch_size,
        samples_per_s,
        ..sample_row()
    };
    let earlier = ResultsSet {
        rows: vec![
            row(StepKind::Fused, 1, 100_000.0),
            row(StepKind::LitPixels, 1, 1_000.0),
            row(StepKind::Fused, 64, 1_000_000.0),
        ],
        ..ResultsSet::default()
    };
    let fused = item(0, c14(Overrides::default()));
    let autodiff = item(
        1,
        c14(Overrides {
            step: Some(Step::Autodiff),
            epochs: Some(2),
            ..Overrides::default()
        }),
    );
    let batched = item(
        2,
        c14(Overrides {
            batch_size: Some(64),
            ..Overrides::default()
        }),
    );
    let wide = item(
        3,
        c14(Overrides {
            hidden_units: Some(256),
            ..Overrides::default()
        }),
    );
    let (fused_s, unknown) = estimate(&[fused], &earlier, 60_000);
    assert_eq!(unknown, 0);
    assert!((fused_s - 0.6).abs() < 1e-9, "{fused_s}");
    let (autodiff_s, _) = estimate(&[autodiff], &earlier, 60_000);
    assert!((autodiff_s - 2.0 * 60.0).abs() < 1e-9, "{autodiff_s}");
    let (batched_s, _) = estimate(&[batched], &earlier, 60_000);
    assert!((batched_s - 0.06).abs() < 1e-9, "{batched_s}");
    assert_eq!(estimate(&[wide], &earlier, 60_000), (0.0, 1));
}

#[test]
fn a_run_counts_as_done_only_when_every_epoch_of_the_same_run_is_ok() {
    use replay_store::testutil::sample_row;
    use replay_store::{ResultRow, Status};
    let plan = c14(Overrides::default());
    let s = &plan.settings;
    let row = |run: &str, epoch: u64, status: Status| ResultRow {
        run_id: run.to_string(),
        config: "c1.4".to_string(),
        backend: "flex".to_string(),
        step: "fused".to_string(),
        order: s.order.name().to_string(),
        gpu_share: None,
        throttle_method: "none".to_string(),
        learning_rate: s.learning_rate,
        seed: s.seed,
        epoch: u32::try_from(epoch).unwrap(),
        status,
        ..sample_row()
    };
    let whole = |run: &'static str| (1..=s.epochs).map(move |e| row(run, e, Status::Ok));
    let set = |rows: Vec<ResultRow>| ResultsSet {
        rows,
        ..ResultsSet::default()
    };
    let complete = |rows: Vec<ResultRow>| complete_runs(&plan, 60_000, &set(rows));
    assert_eq!(complete(whole("a").collect()), 1);
    assert_eq!(complete(whole("a").chain(whole("b")).collect()), 2);
    // An interrupted last epoch, a missing one, another seed, width or share: not this run.
    let mut interrupted: Vec<ResultRow> = whole("a").collect();
    interrupted.last_mut().unwrap().status = Status::Interrupted;
    assert_eq!(complete(interrupted), 0);
    assert_eq!(complete(whole("a").skip(1).collect()), 0);
    let changes: [fn(&mut ResultRow); 5] = [
        |r: &mut ResultRow| r.seed += 1,
        |r: &mut ResultRow| r.hidden_units = 512,
        |r: &mut ResultRow| r.step = "autodiff (lit pixels)".to_string(),
        |r: &mut ResultRow| r.samples = 600,
        |r: &mut ResultRow| r.gpu_share = Some(0.5),
    ];
    for change in changes {
        let rows = whole("a")
            .map(|mut r| {
                change(&mut r);
                r
            })
            .collect();
        assert_eq!(complete(rows), 0);
    }
    // What it takes for items: the second repeat needs two complete runs.
    let items: Vec<SweepItem> = (1..=2)
        .map(|repeat| SweepItem {
            index: repeat as usize - 1,
            plan: plan.clone(),
            repeat,
        })
        .collect();
    let earlier = set(whole("a").collect());
    let done: Vec<u32> = items
        .iter()
        .filter(|item| complete_runs(&item.plan, 60_000, &earlier) >= item.repeat as usize)
        .map(|item| item.repeat)
        .collect();
    assert_eq!(done, [1]);
}

#[test]
fn a_run_that_reached_its_target_is_complete_with_fewer_epochs_and_spans() {
    use replay_store::testutil::sample_row;
    use replay_store::{ResultRow, Status};
    let target = Some("94".parse().unwrap());
    let plan = c14(Overrides {
        epochs: Some(5),
        target_accuracy: target,
        ..Overrides::default()
    });
    let s = &plan.settings;
    // Spans of 30,000 images; `reached` marks the run's last row.
    let row = |epoch: u32, images: u64, reached: bool| ResultRow {
        run_id: "a".to_string(),
        config: "c1.4".to_string(),
        backend: "flex".to_string(),
        step: "fused".to_string(),
        order: s.order.name().to_string(),
        gpu_share: None,
        throttle_method: "none".to_string(),
        learning_rate: s.learning_rate,
        seed: s.seed,
        epoch,
        samples: 30_000,
        images: Some(images),
        target_accuracy: Some(0.94),
        target_reached: Some(reached),
        status: Status::Ok,
        ..sample_row()
    };
    let set = |rows: Vec<ResultRow>| ResultsSet {
        rows,
        ..ResultsSet::default()
    };
    let complete = |rows: Vec<ResultRow>| complete_runs(&plan, 60_000, &set(rows));
    // Reached in epoch 2 of 5, half-way in epoch 1: complete.
    let reached = vec![
        row(1, 30_000, false),
        row(1, 60_000, false),
        row(2, 90_000, true),
    ];
    assert_eq!(complete(reached.clone()), 1);
    assert_eq!(complete(vec![row(1, 30_000, true)]), 1);
    // Stopped short without reaching it (a kill between rows), or made without a target: not.
    assert_eq!(complete(reached[..2].to_vec()), 0);
    let untargeted = reached
        .iter()
        .map(|r| ResultRow {
            target_accuracy: None,
            target_reached: None,
            ..r.clone()
        })
        .collect();
    assert_eq!(complete(untargeted), 0);
    // Another target is another run.
    let other = reached
        .iter()
        .map(|r| ResultRow {
            target_accuracy: Some(0.95),
            ..r.clone()
        })
        .collect();
    assert_eq!(complete(other), 0);
}

#[test]
fn a_run_is_the_items_only_when_every_setting_it_was_made_with_agrees() {
    use replay_store::testutil::sample_row;
    use replay_store::{ResultRow, Status};
    let plan = c14(Overrides::default());
    let s = &plan.settings;
    let row = |epoch: u64| ResultRow {
        run_id: "a".to_string(),
        config: "c1.4".to_string(),
        backend: "flex".to_string(),
        step: "fused".to_string(),
        order: s.order.name().to_string(),
        threads_requested: u32::try_from(s.threads).unwrap(),
        gpu_share: None,
        throttle_method: "none".to_string(),
        learning_rate: s.learning_rate,
        seed: s.seed,
        epoch: u32::try_from(epoch).unwrap(),
        status: Status::Ok,
        ..sample_row()
    };
    let complete = |change: fn(&mut ResultRow)| {
        let rows = (1..=s.epochs)
            .map(|e| {
                let mut r = row(e);
                change(&mut r);
                r
            })
            .collect();
        let earlier = ResultsSet {
            rows,
            ..ResultsSet::default()
        };
        complete_runs(&plan, 60_000, &earlier)
    };
    assert_eq!(complete(|_| ()), 1);
    type Change = fn(&mut ResultRow);
    let changes: [(&str, Change); 12] = [
        ("threads", |r| r.threads_requested += 1),
        ("config", |r| r.config = "c1.8".to_string()),
        ("implementation", |r| {
            r.implementation = "manual".to_string()
        }),
        ("backend", |r| r.backend = "ndarray".to_string()),
        ("order", |r| r.order = "file".to_string()),
        ("weights", |r| r.init_weights = "sha256:0123".to_string()),
        ("share method", |r| {
            r.throttle_method = "time-slice".to_string()
        }),
        ("dataset", |r| r.dataset = "fashion-mnist".to_string()),
        ("batch size", |r| r.batch_size = 2),
        ("learning rate", |r| r.learning_rate = 0.05),
        ("epochs", |r| r.epoch += 1),
        ("billing", |r| r.billing.push_str(BACKGROUND_BILLING)),
    ];
    for (what, change) in changes {
        assert_eq!(complete(change), 0, "{what}");
    }
}

proptest::proptest! {
    #[test]
    fn the_shards_of_a_sweep_take_every_item_exactly_once(items in 0usize..500, count in 1usize..40) {
        let mut taken = vec![0u32; items];
        for index in 0..count {
            let shard = Shard { index, count };
            for (i, t) in taken.iter_mut().enumerate() {
                if shard.takes(i) {
                    *t += 1;
                }
            }
        }
        proptest::prop_assert!(taken.iter().all(|&t| t == 1));
    }
}
