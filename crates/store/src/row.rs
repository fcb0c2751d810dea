//! The result row: one training epoch of one run, as one CSV line.

use std::fmt;
use std::str::FromStr;

use replay_core::{Dataset, EpochStats, Evaluation, Name};
use replay_platform::Cost;
use serde::{Deserialize, Serialize};

/// How an epoch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The epoch finished and was evaluated on the test set.
    Ok,
    /// The run was stopped (Ctrl-C) during this epoch; its figures cover the samples trained.
    Interrupted,
    /// The epoch failed with an error; its figures cover what was done before the error.
    Failed,
}

impl Status {
    /// The CSV spelling: `ok`, `interrupted` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Interrupted => "interrupted",
            Status::Failed => "failed",
        }
    }
}

impl Status {
    /// The status of an epoch that `completed` (ran every step) or not, and `failed` or not.
    pub fn of(completed: bool, failed: bool) -> Self {
        match (failed, completed) {
            (true, _) => Status::Failed,
            (false, false) => Status::Interrupted,
            (false, true) => Status::Ok,
        }
    }
}

impl FromStr for Status {
    type Err = String;

    /// Parses the CSV spelling; the error lists the valid values.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "ok" => Ok(Status::Ok),
            "interrupted" => Ok(Status::Interrupted),
            "failed" => Ok(Status::Failed),
            other => Err(format!(
                "'{other}' is not a status; expected one of: ok, interrupted, failed"
            )),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One epoch of one run, or one span of an epoch that ends in an evaluation: the unit of every
/// results CSV (one line per epoch, or per span with `--eval-every`); its fields are
/// [`HEADER`](crate::HEADER)'s columns, in order. The spans of an epoch share its `epoch` and
/// differ in `images`; their `samples`, times and costs add up to the epoch's.
///
/// Times cover the training pass of the epoch only: the test-set evaluation that follows it is
/// excluded from `wall_s`, `user_s`, `sys_s` and `samples_per_s`, so they compare with the
/// study's one-epoch `%%time` figures. `None` is written as an empty CSV cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    /// Identifier of the run, unique across runs (each `--repeat` is a run); every epoch row of
    /// one run carries the same value. Reading skips a second row with the same `run_id`,
    /// `epoch` and `images` as a duplicate.
    pub run_id: String,
    /// When the run started, in UTC, as RFC 3339 (`2025-01-31T12:00:00Z`).
    pub started_utc: String,
    /// The configuration's name as the study writes it (`g2.mig`, `c1.32`, `standard-4-8`).
    pub config: String,
    /// The platform offering the configuration (`Yandex DataSphere`, `VK Cloud ML Platform`).
    pub platform: String,
    /// The training implementation: `burn` (the framework one) or `manual` (the hand-written one).
    pub implementation: String,
    /// The training step taken (`fused`, `autodiff (lit pixels)`, `autodiff (dense)`;
    /// `manual` for the hand-written rule); empty in rows of files older than the column.
    pub step: String,
    /// The order the epoch visited the images in (`shuffled`, `file`); empty in older files.
    pub order: String,
    /// Where the initial weights came from: `seeded`, or `sha256:` and the first 16 hex digits
    /// of the weights file given with `--init-weights`; empty in older files.
    pub init_weights: String,
    /// The Burn backend that ran it (`flex`, `ndarray`, `wgpu`; `plain-rust` for the
    /// hand-written rule, which uses none).
    pub backend: String,
    /// The device or adapter name the backend reported (`cpu`, a Vulkan adapter's name).
    pub device: String,
    /// Threads the configuration asked for (its vCPUs, or `--threads`), count.
    pub threads_requested: u32,
    /// Threads actually used, after capping at the host's cores, count.
    pub threads_used: u32,
    /// Fraction of the GPU granted by the throttle, in (0, 1]; empty for CPU configurations.
    pub gpu_share: Option<f64>,
    /// How the GPU share was enforced (for example `spatial (1 of 2 units)` or `time-slice`), or `none`.
    pub throttle_method: String,
    /// The configuration's RAM, the run's memory budget, in GB (10^9 bytes).
    pub ram_gb: f64,
    /// Peak resident set size of the process up to the end of this epoch, in MiB (2^20 bytes).
    pub peak_rss_mib: f64,
    /// Whether `peak_rss_mib` exceeded `ram_gb` (the emulated configuration would have run out).
    pub ram_exceeded: bool,
    /// The dataset trained and tested on: `mnist` or `fashion-mnist` (the names of
    /// [`Dataset`]); `mnist` in rows upgraded from files older than the column, which every
    /// run before it trained.
    pub dataset: String,
    /// Neurons in the network's hidden layer, count (the study's network has 28); `28` in rows
    /// upgraded from files older than the column.
    pub hidden_units: u32,
    /// Training samples per gradient update, count.
    pub batch_size: u32,
    /// Gradient-descent learning rate, dimensionless.
    pub learning_rate: f64,
    /// Seed of the weight initialisation and the shuffling.
    pub seed: u64,
    /// Epoch number within the run, starting at 1.
    pub epoch: u32,
    /// Training samples processed in this epoch (or span), count (fewer than the set if
    /// interrupted or stopped at the target).
    pub samples: u64,
    /// Wall-clock time of this epoch's training pass, in seconds.
    pub wall_s: f64,
    /// CPU time of the process in user mode during this epoch's training pass, in seconds.
    pub user_s: f64,
    /// CPU time of the process in kernel mode during this epoch's training pass, in seconds.
    pub sys_s: f64,
    /// Training throughput, `samples / wall_s`, in samples per second.
    pub samples_per_s: f64,
    /// Mean training loss (mean squared error) over the epoch's samples; empty if none trained.
    pub train_loss: Option<f64>,
    /// Fraction of the epoch's training samples predicted right, in [0, 1]; empty if none.
    pub train_accuracy: Option<f64>,
    /// Mean squared error on the test set after this epoch; empty if not evaluated.
    pub test_loss: Option<f64>,
    /// Fraction of the test set predicted right after this epoch, in [0, 1]; empty if not
    /// evaluated.
    pub test_accuracy: Option<f64>,
    /// Training images the run had trained at the end of this row, all its rows so far
    /// together, count; empty in rows of files older than the column.
    pub images: Option<u64>,
    /// Wall seconds of training the run had spent at the end of this row, all its rows so far
    /// together, evaluations excluded (the clock of time to accuracy), in seconds; empty in
    /// older files.
    pub train_s: Option<f64>,
    /// Wall seconds of the test-set evaluation that ends this row; empty when not evaluated.
    pub eval_s: Option<f64>,
    /// The test accuracy the run stops at, a fraction in (0, 1); empty for a run without one.
    pub target_accuracy: Option<f64>,
    /// For a run with a target: whether this row's evaluation reached it (the run's last row
    /// then); empty for a run without one.
    pub target_reached: Option<bool>,
    /// The tariff applied, in one line (`per_second 18 units x 0.0012 RUB/s`), ending in
    /// ` at the background rate` when `cost` is at that rate.
    pub billing: String,
    /// Where the price comes from and its date.
    pub price_source: String,
    /// What this epoch adds to the run's bill at the rate the run was billed at (background
    /// under `--background`), in `currency`; a run costs the sum of its rows.
    pub cost: f64,
    /// What this epoch costs in the tariff's background mode, in `currency`; empty when the
    /// tariff has none.
    pub cost_background: Option<f64>,
    /// Currency of `cost` and `cost_background`, ISO 4217 (`RUB`, `USD`).
    pub currency: String,
    /// The host CPU's model name.
    pub host_cpu: String,
    /// Logical cores of the host, count.
    pub host_cores: u32,
    /// Version of the program that wrote the row (crate version, plus git commit if known).
    pub version: String,
    /// How the epoch ended.
    pub status: Status,
}

/// What every row of one run has in common: the run's settings, where it ran and who wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFacts {
    /// [`ResultRow::run_id`].
    pub run_id: String,
    /// [`ResultRow::started_utc`].
    pub started_utc: String,
    /// [`ResultRow::config`].
    pub config: String,
    /// [`ResultRow::platform`].
    pub platform: String,
    /// [`ResultRow::implementation`].
    pub implementation: String,
    /// [`ResultRow::step`].
    pub step: String,
    /// [`ResultRow::order`].
    pub order: String,
    /// [`ResultRow::init_weights`].
    pub init_weights: String,
    /// [`ResultRow::backend`].
    pub backend: String,
    /// [`ResultRow::device`].
    pub device: String,
    /// [`ResultRow::threads_requested`].
    pub threads_requested: u32,
    /// [`ResultRow::threads_used`].
    pub threads_used: u32,
    /// [`ResultRow::gpu_share`].
    pub gpu_share: Option<f64>,
    /// [`ResultRow::throttle_method`].
    pub throttle_method: String,
    /// [`ResultRow::ram_gb`].
    pub ram_gb: f64,
    /// [`ResultRow::dataset`]: `mnist` or `fashion-mnist`.
    pub dataset: String,
    /// [`ResultRow::hidden_units`]: neurons in the hidden layer, count.
    pub hidden_units: u32,
    /// [`ResultRow::batch_size`].
    pub batch_size: u32,
    /// [`ResultRow::learning_rate`].
    pub learning_rate: f64,
    /// [`ResultRow::seed`].
    pub seed: u64,
    /// [`ResultRow::target_accuracy`]: the test accuracy the run stops at, a fraction.
    pub target_accuracy: Option<f64>,
    /// [`ResultRow::host_cpu`].
    pub host_cpu: String,
    /// [`ResultRow::host_cores`].
    pub host_cores: u32,
    /// [`ResultRow::version`].
    pub version: String,
}

/// What one epoch measured: its training figures, the test-set evaluation after it, the
/// process's CPU time and memory, and its share of the bill.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochFacts {
    /// The training loop's figures (epoch number, samples, loss, accuracy, completed).
    pub stats: EpochStats,
    /// The test-set evaluation; `None` when the epoch did not complete.
    pub evaluation: Option<Evaluation>,
    /// Training images of the run so far, this span included.
    pub images: u64,
    /// Training wall seconds of the run so far, this span included, evaluations excluded.
    pub train_s: f64,
    /// Wall seconds of the evaluation; `None` when there was none.
    pub eval_s: Option<f64>,
    /// Wall seconds of the training pass.
    pub wall_s: f64,
    /// User CPU seconds of the training pass.
    pub user_s: f64,
    /// System CPU seconds of the training pass.
    pub sys_s: f64,
    /// Peak resident memory of the process so far, in MiB.
    pub peak_rss_mib: f64,
    /// The epoch's share of the run's bill.
    pub cost: Cost,
    /// True when the epoch ended in an error.
    pub failed: bool,
}

/// Bytes in a MiB, and in a GB: `peak_rss_mib` and `ram_gb` compare in bytes.
const MIB: f64 = 1024.0 * 1024.0;
const GB: f64 = 1e9;

impl ResultRow {
    /// The machine that ran the row, from its run id (`<unix s>-<host>-<pid>-<n>`, the runner's
    /// since rows name their host); `None` for run ids of another shape (older rows).
    pub fn host(&self) -> Option<&str> {
        let (seconds, rest) = self.run_id.split_once('-')?;
        let mut tail = rest.rsplitn(3, '-');
        let (n, pid, host) = (tail.next()?, tail.next()?, tail.next()?);
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        (digits(seconds) && digits(pid) && digits(n) && !host.is_empty()).then_some(host)
    }

    /// The row of one epoch of a run; the one place a row's derived columns (throughput, RAM
    /// exceeded, status) are computed.
    pub fn new(run: &RunFacts, epoch: &EpochFacts) -> Self {
        let stats = &epoch.stats;
        let trained = stats.samples > 0;
        ResultRow {
            run_id: run.run_id.clone(),
            started_utc: run.started_utc.clone(),
            config: run.config.clone(),
            platform: run.platform.clone(),
            implementation: run.implementation.clone(),
            step: run.step.clone(),
            order: run.order.clone(),
            init_weights: run.init_weights.clone(),
            backend: run.backend.clone(),
            device: run.device.clone(),
            threads_requested: run.threads_requested,
            threads_used: run.threads_used,
            gpu_share: run.gpu_share,
            throttle_method: run.throttle_method.clone(),
            ram_gb: run.ram_gb,
            peak_rss_mib: epoch.peak_rss_mib,
            ram_exceeded: epoch.peak_rss_mib * MIB > run.ram_gb * GB,
            dataset: run.dataset.clone(),
            hidden_units: run.hidden_units,
            batch_size: run.batch_size,
            learning_rate: run.learning_rate,
            seed: run.seed,
            epoch: u32::try_from(stats.epoch).unwrap_or(u32::MAX),
            samples: stats.samples as u64,
            wall_s: epoch.wall_s,
            user_s: epoch.user_s,
            sys_s: epoch.sys_s,
            samples_per_s: if epoch.wall_s > 0.0 {
                stats.samples as f64 / epoch.wall_s
            } else {
                0.0
            },
            train_loss: trained.then_some(stats.loss),
            train_accuracy: trained.then_some(stats.accuracy),
            test_loss: epoch.evaluation.map(|e| e.loss),
            test_accuracy: epoch.evaluation.map(|e| e.accuracy),
            images: Some(epoch.images),
            train_s: Some(epoch.train_s),
            eval_s: epoch.eval_s,
            target_accuracy: run.target_accuracy,
            target_reached: run
                .target_accuracy
                .map(|target| epoch.evaluation.is_some_and(|e| e.accuracy >= target)),
            billing: epoch.cost.billing.clone(),
            price_source: epoch.cost.source.clone(),
            cost: epoch.cost.cost,
            cost_background: epoch.cost.cost_background,
            currency: epoch.cost.currency.clone(),
            host_cpu: run.host_cpu.clone(),
            host_cores: run.host_cores,
            version: run.version.clone(),
            status: Status::of(stats.completed, epoch.failed),
        }
    }

    /// Checks the values a report relies on; returns a message naming the first bad column.
    ///
    /// Times, throughput, memory and costs must be finite and not negative, accuracies in
    /// [0, 1], `gpu_share` in (0, 1], `epoch` and `hidden_units` at least 1, and `dataset`
    /// one of [`Dataset`]'s names as written (`mnist`, `fashion-mnist`).
    pub fn check(&self) -> Result<(), String> {
        let non_negative = [
            ("ram_gb", Some(self.ram_gb)),
            ("peak_rss_mib", Some(self.peak_rss_mib)),
            ("learning_rate", Some(self.learning_rate)),
            ("wall_s", Some(self.wall_s)),
            ("train_s", self.train_s),
            ("eval_s", self.eval_s),
            ("user_s", Some(self.user_s)),
            ("sys_s", Some(self.sys_s)),
            ("samples_per_s", Some(self.samples_per_s)),
            ("train_loss", self.train_loss),
            ("test_loss", self.test_loss),
            ("cost", Some(self.cost)),
            ("cost_background", self.cost_background),
        ];
        for (column, value) in non_negative {
            if let Some(v) = value
                && !(v.is_finite() && v >= 0.0)
            {
                return Err(format!("{column} is {v}; expected a finite number >= 0"));
            }
        }
        let fractions = [
            ("train_accuracy", self.train_accuracy),
            ("test_accuracy", self.test_accuracy),
        ];
        for (column, value) in fractions {
            if let Some(v) = value
                && !(0.0..=1.0).contains(&v)
            {
                return Err(format!("{column} is {v}; expected a fraction in [0, 1]"));
            }
        }
        if let Some(target) = self.target_accuracy
            && !(target > 0.0 && target < 1.0)
        {
            return Err(format!(
                "target_accuracy is {target}; expected a fraction in (0, 1)"
            ));
        }
        if let Some(share) = self.gpu_share
            && !(share > 0.0 && share <= 1.0)
        {
            return Err(format!(
                "gpu_share is {share}; expected a fraction in (0, 1]"
            ));
        }
        if self.epoch == 0 {
            return Err("epoch is 0; epochs are numbered from 1".to_string());
        }
        if !Dataset::ALL.iter().any(|d| d.name() == self.dataset) {
            return Err(format!(
                "dataset is '{}'; expected one of: {}",
                self.dataset,
                Dataset::names().join(", ")
            ));
        }
        if self.hidden_units == 0 {
            return Err("hidden_units is 0; expected at least 1".to_string());
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::header::HEADER;
    use crate::testutil::sample_row;

    #[test]
    fn the_host_is_read_from_the_run_id() {
        let mut row = sample_row();
        for (id, host) in [
            ("1764312000-node_17-4242-1", Some("node_17")),
            ("1764312000-a-b-4242-12", Some("a-b")),
            ("1764312000-4242-1", None),
            ("run-1", None),
            ("1764312000--4242-1", None),
        ] {
            row.run_id = id.to_string();
            assert_eq!(row.host(), host, "{id}");
        }
    }

    #[test]
    fn header_constant_matches_the_serialized_field_names() {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.serialize(sample_row()).unwrap();
        let bytes = writer.into_inner().unwrap();
        let text = String::from_utf8(bytes).unwrap();
        let first = text.lines().next().unwrap();
        assert_eq!(first, HEADER.join(","));
        assert_eq!(HEADER.len(), 46);
        assert_eq!(
            first,
            "run_id,started_utc,config,platform,implementation,step,order,init_weights,backend,\
             device,threads_requested,threads_used,gpu_share,throttle_method,ram_gb,peak_rss_mib,\
             ram_exceeded,dataset,hidden_units,batch_size,learning_rate,seed,epoch,samples,\
             wall_s,user_s,sys_s,samples_per_s,train_loss,train_accuracy,test_loss,\
             test_accuracy,images,train_s,eval_s,target_accuracy,target_reached,billing,price_source,cost,cost_background,currency,host_cpu,\
             host_cores,version,status"
        );
    }

    #[test]
    fn a_row_is_built_from_its_runs_facts_and_its_epochs() {
        let row = sample_row();
        let run = RunFacts {
            run_id: row.run_id.clone(),
            started_utc: row.started_utc.clone(),
            config: row.config.clone(),
            platform: row.platform.clone(),
            implementation: row.implementation.clone(),
            step: row.step.clone(),
            order: row.order.clone(),
            init_weights: row.init_weights.clone(),
            backend: row.backend.clone(),
            device: row.device.clone(),
            threads_requested: row.threads_requested,
            threads_used: row.threads_used,
            gpu_share: row.gpu_share,
            throttle_method: row.throttle_method.clone(),
            ram_gb: row.ram_gb,
            dataset: row.dataset.clone(),
            hidden_units: row.hidden_units,
            batch_size: row.batch_size,
            learning_rate: row.learning_rate,
            seed: row.seed,
            target_accuracy: None,
            host_cpu: row.host_cpu.clone(),
            host_cores: row.host_cores,
            version: row.version.clone(),
        };
        let mut epoch = EpochFacts {
            stats: EpochStats {
                epoch: 1,
                samples: 60_000,
                loss: 0.0314,
                accuracy: 0.8325,
                completed: true,
            },
            evaluation: Some(Evaluation {
                samples: 10_000,
                loss: 0.0167,
                accuracy: 0.9127,
            }),
            images: 60_000,
            train_s: 93.0,
            eval_s: Some(0.8),
            wall_s: 93.0,
            user_s: 91.0,
            sys_s: 11.1,
            peak_rss_mib: 312.5,
            cost: Cost {
                cost: 2.0088,
                cost_background: Some(1.0044),
                currency: "RUB".to_string(),
                billing: row.billing.clone(),
                source: row.price_source.clone(),
            },
            failed: false,
        };
        let built = ResultRow::new(&run, &epoch);
        assert!((built.samples_per_s - 60_000.0 / 93.0).abs() < 1e-9);
        assert_eq!(
            ResultRow {
                samples_per_s: row.samples_per_s,
                ..built
            },
            row
        );
        // 16 GB is 15,259 MiB: above it, the configuration would have run out of memory.
        epoch.peak_rss_mib = 15_300.0;
        assert!(ResultRow::new(&run, &epoch).ram_exceeded);
        epoch.peak_rss_mib = 15_200.0;
        assert!(!ResultRow::new(&run, &epoch).ram_exceeded);
        // With a target, the row says whether its evaluation reached it.
        let aimed = |target| RunFacts {
            target_accuracy: Some(target),
            ..run.clone()
        };
        let reached = ResultRow::new(&aimed(0.9127), &epoch);
        assert_eq!(
            (reached.target_accuracy, reached.target_reached),
            (Some(0.9127), Some(true))
        );
        assert_eq!(
            ResultRow::new(&aimed(0.95), &epoch).target_reached,
            Some(false)
        );
        let unevaluated = EpochFacts {
            evaluation: None,
            ..epoch.clone()
        };
        assert_eq!(
            ResultRow::new(&aimed(0.5), &unevaluated).target_reached,
            Some(false)
        );
        epoch.stats.completed = false;
        assert_eq!(ResultRow::new(&run, &epoch).status, Status::Interrupted);
        epoch.failed = true;
        assert_eq!(ResultRow::new(&run, &epoch).status, Status::Failed);
    }

    #[test]
    fn absent_values_are_empty_cells_and_read_back_as_none() {
        let mut row = sample_row();
        row.gpu_share = None;
        row.test_loss = None;
        row.test_accuracy = None;
        row.cost_background = None;
        row.status = Status::Interrupted;
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        writer.serialize(&row).unwrap();
        let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes());
        let record = reader.records().next().unwrap().unwrap();
        for column in ["gpu_share", "test_loss", "test_accuracy", "cost_background"] {
            let i = HEADER.iter().position(|h| *h == column).unwrap();
            assert_eq!(&record[i], "", "{column}");
        }
        assert_eq!(&record[HEADER.len() - 1], "interrupted");
        let back: ResultRow = record.deserialize(None).unwrap();
        assert_eq!(back, row);
    }

    #[test]
    fn check_names_the_bad_column() {
        assert_eq!(sample_row().check(), Ok(()));
        let mut row = sample_row();
        row.test_accuracy = Some(91.27);
        assert!(
            row.check()
                .unwrap_err()
                .starts_with("test_accuracy is 91.27")
        );
        let mut row = sample_row();
        row.wall_s = f64::NAN;
        assert!(row.check().unwrap_err().starts_with("wall_s is NaN"));
        let mut row = sample_row();
        row.gpu_share = Some(0.0);
        assert!(row.check().unwrap_err().starts_with("gpu_share"));
        let mut row = sample_row();
        row.epoch = 0;
        assert!(row.check().unwrap_err().starts_with("epoch is 0"));
        let mut row = sample_row();
        row.dataset = "MNIST".to_string();
        assert_eq!(
            row.check().unwrap_err(),
            "dataset is 'MNIST'; expected one of: mnist, fashion-mnist"
        );
        row.dataset = "fashion-mnist".to_string();
        assert_eq!(row.check(), Ok(()));
        row.hidden_units = 0;
        assert!(row.check().unwrap_err().starts_with("hidden_units is 0"));
    }

    #[test]
    fn status_spells_lowercase() {
        assert_eq!(Status::Ok.to_string(), "ok");
        assert_eq!(Status::Interrupted.as_str(), "interrupted");
        assert_eq!(Status::Failed.as_str(), "failed");
        for status in [Status::Ok, Status::Interrupted, Status::Failed] {
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
        }
        let err = "done".parse::<Status>().unwrap_err();
        assert_eq!(
            err,
            "'done' is not a status; expected one of: ok, interrupted, failed"
        );
    }
}
