//! Wall time of real training runs of g2.mig under each way of emulating its GPU share,
//! against the same run unthrottled, on wgpu (or whatever the configuration's backend is).
//!
//! `cargo bench -p replay-session --features replay-backend/wgpu --bench gpu_share [-- IMAGES [RUNS [STEP]]]`
//!
//! For the fused step (default 30,000 images, a chunk of 2,048 steps per operation) and the
//! autodiff step (default 600 images, a step per operation), prints the median wall time of
//! RUNS runs (default 3) unthrottled, spatial at 1/8, and time-slice at 1/2 and 1/8, and each
//! one's ratio to the unthrottled time: a slice's units suffice for a batch-1 step (spatial:
//! about 1), and a time slice lends the device for its share of the time (about 2 and 8).
//! The last column counts the runs whose row says the time slice missed its share
//! (`time-slice (busy 0.43, 2.35x the unthrottled time)`), with what it measured.
//! STEP (`fused` or `autodiff`) times that step alone.

#![allow(clippy::unwrap_used, missing_docs)]

use std::path::Path;

use replay_core::{GpuShare, ShareMethod, Step};
use replay_platform::Overrides;
use replay_session::{NoObserver, Options, Plan, Session, StopSignal, WeightFiles};

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let fused_images: usize = args.next().map_or(30_000, |a| a.parse().unwrap());
    let runs: usize = args.next().map_or(3, |a| a.parse().unwrap());
    let only: Option<Step> = args.next().map(|a| a.parse().unwrap());
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/g2mig.toml");
    let out = tempfile::tempdir().unwrap();
    let Some(_) = replay_mnist::testutil::real_mnist_or_skip("gpu_share") else {
        panic!("the benchmark needs the real MNIST");
    };
    let share = |f: f64| Some(GpuShare::new(f).unwrap());
    println!(
        "| step | images | emulation | median wall s | ratio to unthrottled | expected | \
         runs that missed |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (step, images) in [
        (Step::Fused, fused_images),
        (Step::Autodiff, fused_images / 50),
    ]
    .into_iter()
    .filter(|(step, _)| only.is_none_or(|o| o == *step))
    {
        let cases = [
            ("unthrottled", share(1.0), ShareMethod::Spatial, "1"),
            (
                "spatial 1/8",
                share(0.125),
                ShareMethod::Spatial,
                "at most 1.3",
            ),
            (
                "time-slice 1/2",
                share(0.5),
                ShareMethod::TimeSlice,
                "1.7-2.3",
            ),
            (
                "time-slice 1/8",
                share(0.125),
                ShareMethod::TimeSlice,
                "6.8-9.2",
            ),
        ];
        let mut walls: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
        let mut missed: Vec<Vec<String>> = vec![Vec::new(); cases.len()];
        let mut seen = replay_store::read_results(out.path()).map_or(0, |set| set.rows.len());
        let mnist_plan = Plan::resolve(
            &config,
            &Overrides::default(),
            Options {
                limit: Some(images),
                out: out.path().to_path_buf(),
                ..Options::default()
            },
        )
        .unwrap();
        let mnist = mnist_plan.load_dataset().unwrap();
        for _ in 0..runs {
            for (case, (_, gpu_share, method, _)) in cases.iter().enumerate() {
                let overrides = Overrides {
                    step: Some(step),
                    gpu_share: *gpu_share,
                    gpu_share_method: Some(*method),
                    ..Overrides::default()
                };
                let plan = Plan::resolve(&config, &overrides, mnist_plan.options.clone()).unwrap();
                let session = Session::open(&plan, &mnist).unwrap();
                let outcome = session
                    .run(WeightFiles::default(), &StopSignal::new(), &mut NoObserver)
                    .unwrap();
                walls[case].push(outcome.wall_s);
                // The rows of this run's epochs.
                let rows = replay_store::read_results(out.path()).unwrap().rows;
                for row in &rows[seen..] {
                    if let Some((_, busy)) = row.throttle_method.split_once("(busy ") {
                        missed[case].push(busy.split(')').next().unwrap_or(busy).to_string());
                    }
                }
                seen = rows.len();
            }
        }
        let median = |mut xs: Vec<f64>| {
            xs.sort_by(f64::total_cmp);
            xs[xs.len() / 2]
        };
        let base = median(walls[0].clone());
        for (((name, _, _, expected), times), missed) in cases.iter().zip(walls).zip(missed) {
            let wall = median(times);
            let missed = match missed.len() {
                0 => "0".to_string(),
                n => format!("{n} (busy {})", missed.join("; ")),
            };
            println!(
                "| {step} | {images} | {name} | {wall:.3} | {:.2} | {expected} | {missed} |",
                wall / base
            );
        }
    }
}
