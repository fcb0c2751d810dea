//! Seconds per training epoch of every training step on every compiled backend, for any
//! workload (hidden units x batch size) and thread count, on the real MNIST, with same-run
//! baselines: external commands timed in the same alternation as the rows.
//!
//! ```text
//! cargo bench -p replay-model --bench epoch_speed -- [--runs N] [--limit N]
//!     [--workloads 28x1,28x32,512x256] [--threads 1,2] [--steps fused,autodiff]
//!     [--backends flex,wgpu] [--numpy 'CMD'] [--floor 'CMD'] [--manual]
//! ```
//!
//! Add `--features replay-backend/ndarray,replay-backend/wgpu` for more backends; `MNIST_DIR`
//! or `data/mnist` for the data. For each workload `HxB` (H hidden units, B images per step)
//! the table has a row per backend, step and thread count, and:
//!
//! - `--numpy 'CMD'`: a row timing `CMD --hidden H --batch B` (it prints the epoch's seconds
//!   first, as `workload_baseline.py` does), on every workload;
//! - `--floor 'CMD'`: a row timing `CMD` (the plain-Rust floor, batch 1 at 28 units) on the
//!   `28x1` workload;
//! - `--manual`: rows for the hand-written rule (its `manual` step, and the literal
//!   `manual (literal)` one on 2,000 images, scaled) on the `28x1` workload.
//!
//! Each row's runs alternate with every other row's, so that a slow spell of a shared
//! machine hits them all; each run starts from fresh weights. Burn's autodiff step on wgpu
//! takes milliseconds per step: it is timed on part of the epoch and scaled. Every row is
//! compared with the workload's numpy row (and the floor) of the same run. `scripts/bench.sh`
//! runs this with the project's shared baselines. Like the `runner` binary, the benchmark
//! allocates with mimalloc.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed benchmark

use std::process::Command;
use std::time::Instant;

use burn::prelude::Device;
use replay_backend::{compiled_backends, step_kind};
use replay_core::{BackendKind, Implementation, Order, Silent, Step, StepKind, Workload};
use replay_model::manual::{self, ManualNet};
use replay_model::{Samples, Trainer};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// One row of a table: what it times, and how to time one epoch of it (seconds for the whole
/// split, scaled up when it trains on part of it).
struct Row<'a> {
    workload: (usize, usize),
    name: String,
    epoch: Box<dyn FnMut() -> f64 + 'a>,
    times: Vec<f64>,
}

fn median_min_max(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    let median = if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    };
    (median, xs[0], xs[n - 1])
}

/// The first `n` images of `samples`.
fn head(samples: Samples<'_>, n: usize) -> Samples<'_> {
    let n = n.min(samples.len());
    Samples::new(&samples.pixels()[..n * 784], &samples.labels()[..n]).unwrap()
}

/// The seconds an external command reports first on its standard output.
fn external(command: &str) -> f64 {
    let output = Command::new("sh").arg("-c").arg(command).output().unwrap();
    assert!(output.status.success(), "`{command}` failed: {output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    let first = text.split_whitespace().next().unwrap_or("");
    first
        .parse()
        .unwrap_or_else(|_| panic!("`{command}` printed {text:?}, not seconds first"))
}

/// The command line's options.
struct Options {
    runs: usize,
    limit: usize,
    workloads: Vec<(usize, usize)>,
    threads: Vec<usize>,
    steps: Vec<Step>,
    /// The backends to time (every compiled one when empty).
    backends: Vec<BackendKind>,
    numpy: Option<String>,
    floor: Option<String>,
    manual: bool,
}

fn options() -> Result<Options, Box<dyn std::error::Error>> {
    let mut o = Options {
        runs: 3,
        limit: 60_000,
        workloads: vec![(28, 1)],
        threads: vec![1],
        steps: vec![Step::Fused, Step::Autodiff],
        backends: Vec::new(),
        numpy: None,
        floor: None,
        manual: false,
    };
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--runs" => o.runs = value()?.parse()?,
            "--limit" => o.limit = value()?.parse()?,
            "--workloads" => {
                o.workloads = value()?
                    .split(',')
                    .map(|w| {
                        let (h, b) = w.split_once('x').ok_or("a workload is HxB, e.g. 512x256")?;
                        Ok((h.parse()?, b.parse()?))
                    })
                    .collect::<Result<_, Box<dyn std::error::Error>>>()?
            }
            "--threads" => {
                o.threads = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--steps" => {
                o.steps = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--backends" => {
                o.backends = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--numpy" => o.numpy = Some(value()?),
            "--floor" => o.floor = Some(value()?),
            "--manual" => o.manual = true,
            other => return Err(format!("unknown flag {other}").into()),
        }
    }
    Ok(o)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let o = options()?;
    let Some(mnist) = replay_mnist::testutil::real_mnist_or_skip("epoch_speed") else {
        return Err("the benchmark needs the real MNIST".into());
    };
    let train = mnist.train.limit(o.limit);
    let samples = Samples::new(train.pixels(), train.labels()).ok_or("bad training split")?;
    let n = samples.len();
    let pools: Vec<(usize, rayon::ThreadPool)> = o
        .threads
        .iter()
        .map(|&t| {
            (
                t,
                rayon::ThreadPoolBuilder::new()
                    .num_threads(t)
                    .build()
                    .unwrap(),
            )
        })
        .collect();
    let backends: Vec<_> = compiled_backends()
        .into_iter()
        .filter(|kind| o.backends.is_empty() || o.backends.contains(kind))
        .map(|kind| (kind, replay_backend::open(kind).unwrap()))
        .collect();

    let mut rows: Vec<Row<'_>> = Vec::new();
    for &(hidden, batch) in &o.workloads {
        let workload = Workload {
            hidden_units: hidden,
            batch_size: batch,
            ..Workload::STUDY
        };
        for (kind, (device, facts)) in &backends {
            for &step in &o.steps {
                let Ok(step) = step_kind(Implementation::Burn, step, *kind, &workload) else {
                    continue;
                };
                // Burn's autodiff on a GPU launches ~25 kernels a step: time part of the epoch.
                let slow = kind.is_gpu() && step != StepKind::Fused;
                let part = if slow {
                    head(samples, (20 * batch).max(2_000))
                } else {
                    samples
                };
                let scale = n as f64 / part.len() as f64;
                for (threads, pool) in &pools {
                    let (threads, device): (usize, Device) = (*threads, device.clone());
                    let shared = step == StepKind::Fused
                        && replay_backend::fused::cpu_threads_for(batch, hidden, threads) == 1;
                    if threads > 1 && (kind.is_gpu() || shared) {
                        continue; // the same work as on one thread
                    }
                    rows.push(Row {
                        workload: (hidden, batch),
                        name: format!(
                            "burn MLP, {kind} ({}), {step} step, {threads} thread{}",
                            facts.adapter,
                            if threads == 1 { "" } else { "s" }
                        ),
                        epoch: Box::new(move || {
                            pool.install(|| {
                                let mut trainer =
                                    Trainer::with_width(&device, 0, 0.1, batch, hidden)
                                        .with_step(step)
                                        .unwrap();
                                trainer.prepare(part);
                                let start = Instant::now();
                                let stats = trainer
                                    .train_epoch(part, Order::File, 1, &mut Silent)
                                    .unwrap();
                                assert!(stats.completed);
                                start.elapsed().as_secs_f64() * scale
                            })
                        }),
                        times: Vec::new(),
                    });
                }
            }
        }
        if (hidden, batch) == (28, 1) && o.manual {
            rows.push(Row {
                workload: (hidden, batch),
                name: format!("hand-written rule, {} step", StepKind::Fast),
                epoch: Box::new(move || {
                    let mut net = ManualNet::init(0);
                    let start = Instant::now();
                    manual::fast::train_epoch(
                        &mut net,
                        samples,
                        Order::File,
                        0,
                        1,
                        0.1,
                        &mut Silent,
                    );
                    start.elapsed().as_secs_f64()
                }),
                times: Vec::new(),
            });
            let part = head(samples, 2_000);
            rows.push(Row {
                workload: (hidden, batch),
                name: format!(
                    "hand-written rule, {} step (2,000 images, scaled)",
                    StepKind::Reference
                ),
                epoch: Box::new(move || {
                    let mut net = ManualNet::init(0);
                    let start = Instant::now();
                    manual::reference::train_epoch(
                        &mut net,
                        part,
                        Order::File,
                        0,
                        1,
                        0.1,
                        &mut Silent,
                    );
                    start.elapsed().as_secs_f64() * n as f64 / part.len() as f64
                }),
                times: Vec::new(),
            });
        }
        if let Some(command) = &o.floor
            && (hidden, batch) == (28, 1)
        {
            let command = command.clone();
            rows.push(Row {
                workload: (hidden, batch),
                name: "baseline: floor.rs, plain Rust (same run)".to_string(),
                epoch: Box::new(move || external(&command)),
                times: Vec::new(),
            });
        }
        if let Some(command) = &o.numpy {
            let command = format!("{command} --hidden {hidden} --batch {batch}");
            rows.push(Row {
                workload: (hidden, batch),
                name: "baseline: workload_baseline.py, numpy, 1 BLAS thread (same run)".to_string(),
                epoch: Box::new(move || external(&command)),
                times: Vec::new(),
            });
        }
    }

    for _ in 0..o.runs {
        for row in &mut rows {
            let seconds = (row.epoch)();
            row.times.push(seconds);
        }
    }
    let stats: Vec<_> = rows
        .iter()
        .map(|r| median_min_max(r.times.clone()))
        .collect();
    for &(hidden, batch) in &o.workloads {
        println!(
            "\none epoch of {n} images, 784-{hidden}-10, batch {batch} ({} runs, medians)",
            o.runs
        );
        println!("| what | median s | min s | max s | us per image | x numpy | x floor |");
        println!("| --- | --- | --- | --- | --- | --- | --- |");
        let of = |name: &str| {
            rows.iter()
                .zip(&stats)
                .find(|(r, _)| r.workload == (hidden, batch) && r.name.contains(name))
                .map(|(_, s)| s.0)
        };
        let numpy = of("numpy");
        let floor = of("floor.rs");
        let ratio =
            |x: f64, base: Option<f64>| base.map_or("-".to_string(), |b| format!("{:.2}", x / b));
        for (row, &(median, min, max)) in rows.iter().zip(&stats) {
            if row.workload != (hidden, batch) {
                continue;
            }
            println!(
                "| {} | {median:.3} | {min:.3} | {max:.3} | {:.2} | {} | {} |",
                row.name,
                median * 1e6 / n as f64,
                ratio(median, numpy),
                ratio(median, floor),
            );
        }
    }
    Ok(())
}
