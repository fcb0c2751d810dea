//! How fast a configuration trains: its measured images per second at a batch size, read from
//! the results rows made the way the configuration replays by default.
//!
//! "Made the same way" ([`ReplayWay::matches`]) is what decides a row's speed and what a
//! configuration's default replay fixes: the configuration's name, the Burn MLP, the backend,
//! the step the backend takes for the workload, the vCPUs asked for (`threads_requested`, not
//! `threads_used`, which depends on the host's cores and on whether a step had work to share),
//! the GPU share and its method, the dataset, the width and the batch size. A row made with
//! `--backend flex`, `--threads 2` or `--step autodiff` is another way and does not count. The
//! learning rate, seed, order, initial weights and target do not change the arithmetic done per
//! image, so rows of any of them count.
//!
//! The rate is weighted by images (sum of images / sum of seconds), not a median of rows: a
//! run with `--eval-every` writes spans of a few hundred images whose per-row rates are noisy,
//! and an image-weighted rate gives each span its share and no more. A run's first row is kept
//! apart: it holds what a run pays once (the thread pool, the first touch of its memory, on
//! wgpu the compiling of kernels), which [`Throughput::warmup_s`] adds once to a prediction
//! instead of spreading it over every image. Without any later row (one-epoch runs) the rate
//! is that of the first rows, warm-up included.

use replay_backend::BackendError;
use replay_core::{BackendKind, Dataset, Implementation, Name, ShareMethod, StepKind, Workload};
use replay_platform::Config;
use replay_store::{ResultRow, Status};

/// How a configuration's default replay (no overrides) makes its rows at one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayWay {
    /// The configuration's name (`c1.4`), the rows' `config`.
    pub config: String,
    /// The backend the configuration replays on.
    pub backend: BackendKind,
    /// The step that backend takes for the workload, as the rows' `step` column says it.
    pub step: StepKind,
    /// vCPUs the configuration asks for, the rows' `threads_requested`.
    pub threads: u32,
    /// The GPU share emulated, a fraction; `None` without a GPU.
    pub gpu_share: Option<f64>,
    /// How a share below 1 is emulated.
    pub share_method: ShareMethod,
    /// The dataset trained.
    pub dataset: Dataset,
    /// Hidden units of the network.
    pub hidden_units: u32,
    /// Images per update.
    pub batch_size: u32,
}

impl ReplayWay {
    /// The way `config` replays the Burn MLP on `dataset` at `hidden_units` and `batch_size`;
    /// an error where no step trains that network.
    pub fn of(
        config: &Config,
        dataset: Dataset,
        hidden_units: u32,
        batch_size: u32,
    ) -> Result<Self, BackendError> {
        let run = &config.run;
        let workload = Workload {
            dataset,
            hidden_units: hidden_units as usize,
            batch_size: batch_size as usize,
        };
        let step =
            replay_backend::step_kind(Implementation::Burn, run.step, run.backend, &workload)?;
        Ok(Self {
            config: config.name.clone(),
            backend: run.backend,
            step,
            threads: u32::try_from(run.threads).unwrap_or(u32::MAX),
            gpu_share: run.gpu_share.map(|share| share.get()),
            share_method: run.gpu_share_method,
            dataset,
            hidden_units,
            batch_size,
        })
    }

    /// Whether `row` was made this way (whatever its status).
    pub fn matches(&self, row: &ResultRow) -> bool {
        let share = match (self.gpu_share, row.gpu_share) {
            (None, None) => true,
            (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.max(b),
            _ => false,
        };
        // The method shows only where the share is applied on a GPU.
        let method = !(self.backend.is_gpu() && self.gpu_share.is_some_and(|s| s < 1.0))
            || row
                .throttle_method
                .starts_with(ShareMethod::TimeSlice.name())
                == (self.share_method == ShareMethod::TimeSlice);
        row.config == self.config
            && row.implementation == Implementation::Burn.name()
            && row.backend == self.backend.name()
            && StepKind::from_column(&row.step) == Some(self.step)
            && row.threads_requested == self.threads
            && share
            && method
            && row.dataset == self.dataset.name()
            && row.hidden_units == self.hidden_units
            && row.batch_size == self.batch_size
    }
}

/// A configuration's measured speed at one workload.
#[derive(Debug, Clone, PartialEq)]
pub struct Throughput {
    /// Training images per second once a run is warm: the images of the runs' later rows over
    /// their seconds (or of their first rows, when no run has a later one).
    pub images_per_s: f64,
    /// Seconds a run's first row took beyond its images at `images_per_s` (the median over
    /// runs, at least 0): paid once per run. 0 when the rate itself includes the first rows.
    pub warmup_s: f64,
    /// Whether `images_per_s` comes from rows after the runs' first (a warm rate).
    pub warm: bool,
    /// Training images behind `images_per_s`, count.
    pub images: u64,
    /// Wall seconds behind `images_per_s`.
    pub seconds: f64,
    /// Runs that contributed a row, count.
    pub runs: usize,
    /// The devices the rows ran on (`cpu`, a GPU adapter), sorted, each once.
    pub devices: Vec<String>,
}

impl Throughput {
    /// Wall seconds a run takes to train `images` images: the warm-up once, then the rate.
    pub fn seconds_for(&self, images: f64) -> f64 {
        self.warmup_s + images / self.images_per_s
    }
}

/// Whether `row` is its run's first: epoch 1, and its first span (its images so far are its
/// own; files older than the `images` column have one row per epoch).
fn is_first(row: &ResultRow) -> bool {
    row.epoch == 1 && row.images.is_none_or(|images| images == row.samples)
}

/// The speed of the `ok` rows of `rows` made the way `way` says; `None` without such rows
/// (or with no measured time).
pub fn throughput(rows: &[ResultRow], way: &ReplayWay) -> Option<Throughput> {
    let made: Vec<&ResultRow> = rows
        .iter()
        .filter(|r| r.status == Status::Ok && r.wall_s.is_finite() && way.matches(r))
        .collect();
    let sum = |rows: &[&ResultRow]| -> (u64, f64) {
        rows.iter()
            .fold((0, 0.0), |(n, s), r| (n + r.samples, s + r.wall_s))
    };
    let (first, later): (Vec<&ResultRow>, Vec<&ResultRow>) =
        made.iter().copied().partition(|r| is_first(r));
    let (later_images, later_s) = sum(&later);
    let (images, seconds, warm) = if later_images > 0 && later_s > 0.0 {
        (later_images, later_s, true)
    } else {
        let (n, s) = sum(&made);
        (n, s, false)
    };
    if images == 0 || seconds <= 0.0 {
        return None;
    }
    let images_per_s = images as f64 / seconds;
    let warmup_s = if warm {
        let mut excess: Vec<f64> = first
            .iter()
            .map(|r| (r.wall_s - r.samples as f64 / images_per_s).max(0.0))
            .collect();
        excess.sort_by(f64::total_cmp);
        excess.get(excess.len() / 2).copied().unwrap_or(0.0)
    } else {
        0.0
    };
    let mut runs: Vec<&str> = made.iter().map(|r| r.run_id.as_str()).collect();
    runs.sort_unstable();
    runs.dedup();
    let mut devices: Vec<String> = made.iter().map(|r| r.device.clone()).collect();
    devices.sort();
    devices.dedup();
    Some(Throughput {
        images_per_s,
        warmup_s,
        warm,
        images,
        seconds,
        runs: runs.len(),
        devices,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn config(text_run: &str) -> Config {
        let text = format!(
            "[config]\nplatform = \"P\"\nname = \"c1.4\"\ndescription = \"d\"\n\
             [hardware]\nvcpus = 4\nram_gb = 8\ngpu = \"NVIDIA A100\"\ngpu_count = 0.125\n\
             [run]\n{text_run}\n\
             [pricing]\nmodel = \"free\"\ncurrency = \"RUB\"\nsource = \"s\"\nsource_date = \"2023\"\n"
        );
        Config::from_str(&text, "test.toml").unwrap()
    }

    /// A row of run `run`, epoch `epoch`, `samples` images in `wall_s`, made as `config`
    /// replays by default at batch 32 on flex.
    fn row(run: &str, epoch: u32, samples: u64, wall_s: f64) -> ResultRow {
        let mut row = replay_store::testutil::sample_row();
        row.run_id = run.to_owned();
        row.config = "c1.4".to_owned();
        row.implementation = "burn".to_owned();
        row.backend = "flex".to_owned();
        row.step = "fused".to_owned();
        row.threads_requested = 4;
        row.gpu_share = Some(0.125);
        row.throttle_method = "none (runs on the CPU)".to_owned();
        row.dataset = "mnist".to_owned();
        row.hidden_units = 28;
        row.batch_size = 32;
        row.epoch = epoch;
        row.samples = samples;
        row.images = Some(u64::from(epoch) * samples);
        row.wall_s = wall_s;
        row.samples_per_s = samples as f64 / wall_s;
        row.status = Status::Ok;
        row
    }

    #[test]
    fn only_rows_made_as_the_configuration_replays_count() {
        let config = config("backend = \"flex\"");
        let way = ReplayWay::of(&config, Dataset::Mnist, 28, 32).unwrap();
        assert_eq!(way.step, StepKind::Fused);
        assert!(way.matches(&row("a", 1, 100, 1.0)));
        let changed: [fn(&mut ResultRow); 9] = [
            |r| r.config = "c1.8".into(),
            |r| r.backend = "wgpu".into(),
            |r| r.step = "autodiff (lit pixels)".into(),
            |r| r.threads_requested = 2,
            |r| r.gpu_share = None,
            |r| r.dataset = "fashion-mnist".into(),
            |r| r.hidden_units = 128,
            |r| r.batch_size = 1,
            |r| r.implementation = "manual".into(),
        ];
        for change in changed {
            let mut other = row("a", 1, 100, 1.0);
            change(&mut other);
            assert!(!way.matches(&other), "{other:?}");
        }
        // The rate, seed and threads used do not change how fast an image trains.
        let mut same = row("a", 1, 100, 1.0);
        same.learning_rate = 8.0;
        same.seed = 7;
        same.threads_used = 1;
        assert!(way.matches(&same));
    }

    #[test]
    fn a_time_sliced_share_is_another_way_than_a_spatial_one_on_a_gpu() {
        let spatial = ReplayWay::of(&config("backend = \"wgpu\""), Dataset::Mnist, 28, 32).unwrap();
        let sliced = ReplayWay::of(
            &config("backend = \"wgpu\"\ngpu_share_method = \"time-slice\""),
            Dataset::Mnist,
            28,
            32,
        )
        .unwrap();
        let mut r = row("a", 1, 100, 1.0);
        r.backend = "wgpu".into();
        r.throttle_method = "spatial (2 of 16 units) + memory cap".into();
        assert!(spatial.matches(&r) && !sliced.matches(&r));
        r.throttle_method = "time-slice (busy 0.43, 2.35x the unthrottled time)".into();
        assert!(!spatial.matches(&r) && sliced.matches(&r));
    }

    #[test]
    fn the_rate_is_image_weighted_over_later_rows_and_the_first_pays_the_warm_up() {
        let way = ReplayWay::of(&config("backend = \"flex\""), Dataset::Mnist, 28, 32).unwrap();
        let mut rows = vec![
            // Run a: its first epoch 1000 images in 3 s, its second 1000 in 1 s.
            row("a", 1, 1000, 3.0),
            row("a", 2, 1000, 1.0),
            row("b", 1, 1000, 2.0),
            row("b", 2, 3000, 2.0),
        ];
        let mut interrupted = row("b", 3, 10, 100.0);
        interrupted.status = Status::Interrupted;
        rows.push(interrupted);
        let t = throughput(&rows, &way).unwrap();
        assert!(t.warm);
        assert_eq!(t.images, 4000);
        assert!((t.images_per_s - 4000.0 / 3.0).abs() < 1e-9);
        // Excess of the first rows: 3 - 0.75 = 2.25 and 2 - 0.75 = 1.25; the median of two is
        // the upper one.
        assert!((t.warmup_s - 2.25).abs() < 1e-9);
        assert_eq!(t.runs, 2);
        assert!((t.seconds_for(4000.0) - (2.25 + 3.0)).abs() < 1e-9);
    }

    #[test]
    fn one_epoch_runs_give_a_rate_with_their_warm_up_inside() {
        let way = ReplayWay::of(&config("backend = \"flex\""), Dataset::Mnist, 28, 32).unwrap();
        let t = throughput(&[row("a", 1, 600, 2.0), row("b", 1, 600, 1.0)], &way).unwrap();
        assert!(!t.warm);
        assert!((t.images_per_s - 400.0).abs() < 1e-9);
        assert_eq!(t.warmup_s, 0.0);
        assert!(throughput(&[], &way).is_none());
    }

    #[test]
    fn spans_after_the_first_of_an_epoch_are_warm() {
        let way = ReplayWay::of(&config("backend = \"flex\""), Dataset::Mnist, 28, 32).unwrap();
        let mut first = row("a", 1, 500, 2.0);
        first.images = Some(500);
        let mut second = row("a", 1, 500, 0.5);
        second.images = Some(1000);
        let t = throughput(&[first, second], &way).unwrap();
        assert!(t.warm);
        assert!((t.images_per_s - 1000.0).abs() < 1e-9);
        assert!((t.warmup_s - 1.5).abs() < 1e-9);
    }
}
