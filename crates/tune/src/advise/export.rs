//! The advice as the terminal shows it, as `advice.md` and as `advice.csv`: each format turns
//! an [`Advice`] into text with no I/O; [`write_advice`] is the one place that writes files.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use replay_core::Name;
use replay_platform::Config;
use replay_session::duration;
use serde::Serialize;

use super::{Advice, AdviseError, Line, StudyEstimate};

/// The name of the CSV file of the advice, inside `--out`.
pub const ADVICE_CSV: &str = "advice.csv";
/// The name of the Markdown file of the advice, inside `--out`.
pub const ADVICE_MD: &str = "advice.md";

/// The mark on the chosen line.
const CHOSEN: &str = "✔";

/// `4 vCPUs`, `4 vCPUs, 1/8 NVIDIA A100`, `16 vCPUs, 2x NVIDIA Tesla V100`.
pub fn hardware(config: &Config) -> String {
    let hw = &config.hardware;
    let mut text = format!("{} vCPU{}", hw.vcpus, if hw.vcpus == 1 { "" } else { "s" });
    if let (true, Some(gpu)) = (hw.has_gpu(), &hw.gpu) {
        let count = hw.gpu_count;
        let inverse = 1.0 / count;
        let share = if count >= 1.0 {
            format!("{count}x")
        } else if (inverse - inverse.round()).abs() < 1e-9 {
            format!("1/{}", inverse.round())
        } else {
            format!("{count}")
        };
        let _ = write!(text, ", {share} {gpu}");
    }
    text
}

/// A cost with its currency, to three significant digits (`0.0123 RUB`, `4.56 RUB`, `0 RUB`).
pub fn money(cost: f64, currency: &str) -> String {
    let digits = if cost == 0.0 || cost.abs() >= 100.0 {
        0
    } else {
        (2 - cost.abs().log10().floor() as i32).max(0) as usize
    };
    format!("{cost:.digits$} {currency}")
}

/// The study's choice, in a cell: `4.20 s, 0.161 RUB`, `not tuned`, `not reached`,
/// `not measured`.
fn study_cell(study: &StudyEstimate) -> String {
    match study {
        StudyEstimate::NotTuned => "not tuned".to_owned(),
        StudyEstimate::NotReached => "not reached".to_owned(),
        StudyEstimate::NotMeasured => "not measured".to_owned(),
        StudyEstimate::Estimated(e) => {
            format!("{}, {}", duration(e.seconds), money(e.cost, &e.currency))
        }
    }
}

/// The table's header and each ranked line's cells.
fn table(advice: &Advice) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let header = vec![
        "CONFIG",
        "PLATFORM",
        "HARDWARE",
        "BACKEND",
        "BATCH",
        "RATE",
        "EPOCHS",
        "TIME",
        "COST",
        "STUDY'S CHOICE (BATCH 1, RATE 0.1)",
        "CHOSEN",
    ];
    let rows = advice
        .ranked()
        .filter_map(|line| {
            let estimate = line.estimate.as_ref()?;
            Some(vec![
                line.config.name.clone(),
                line.config.platform.clone(),
                hardware(&line.config),
                line.way.backend.name().to_owned(),
                line.score.batch_size.to_string(),
                line.score.learning_rate.to_string(),
                line.score
                    .epochs()
                    .map_or_else(String::new, |e| format!("{e:.2}")),
                duration(estimate.seconds),
                money(estimate.cost, &estimate.currency),
                study_cell(&line.study),
                if line.is_chosen() { CHOSEN } else { "" }.to_owned(),
            ])
        })
        .collect();
    (header, rows)
}

/// The chosen line in a sentence: `c1.32 at batch 32, rate 8: 70200 images to the target
/// (1.17 epochs, mean of 5 seeds), 312 ms, 0.0120 RUB; the study's choice there: 4.20 s,
/// 0.161 RUB`.
fn chosen_sentence(line: &Line) -> String {
    let score = &line.score;
    let mut text = format!(
        "{} at batch {}, rate {}",
        line.config.name, score.batch_size, score.learning_rate
    );
    if let (Some(images), Some(epochs)) = (score.mean_images, score.epochs()) {
        let _ = write!(
            text,
            ": {images:.0} images to the target ({epochs:.2} epochs, mean of {} seeds",
            score.runs
        );
        if score.misses > 0 {
            let _ = write!(text, ", {} missed", score.misses);
        }
        text.push(')');
    }
    if let Some(e) = &line.estimate {
        let _ = write!(
            text,
            ", {}, {}",
            duration(e.seconds),
            money(e.cost, &e.currency)
        );
    }
    let _ = write!(
        text,
        "; the study's choice there: {}",
        study_cell(&line.study)
    );
    text
}

/// How the advice was computed, in one paragraph.
fn method(advice: &Advice) -> String {
    let request = &advice.request;
    format!(
        "Predicted time = images to the target at each batch size's best learning rate (mean \
         over seeds, from '{}') / the configuration's images per second (image-weighted over \
         the ok rows in '{}' made as the configuration replays by default: same backend, step, \
         vCPUs, GPU share, dataset, width and batch size; a run's first row apart, its excess \
         over that rate added once as warm-up); predicted cost = the configuration's tariff for \
         that time. Ranked by predicted {}.",
        request.convergence.display(),
        request.results.display(),
        request.by.name()
    )
}

/// The advice as the terminal shows it: a ranked table with a mark on the choice, the
/// command that trains it, and what is missing with the commands that measure it.
pub fn text(advice: &Advice) -> String {
    let request = &advice.request;
    let mut out = format!(
        "advice for {}, ranked by predicted {}\n",
        request.goal,
        request.by.name()
    );
    let (header, rows) = table(advice);
    if !rows.is_empty() {
        let widths: Vec<usize> = (0..header.len())
            .map(|c| {
                rows.iter()
                    .map(|r| r[c].chars().count())
                    .chain([header[c].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: Vec<&str>| -> String {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .map(|(cell, &w)| format!("{cell}{}", " ".repeat(w - cell.chars().count())))
                .collect();
            padded.join("  ").trim_end().to_owned()
        };
        out.push_str(&line(header.clone()));
        out.push('\n');
        for row in &rows {
            out.push_str(&line(row.iter().map(String::as_str).collect()));
            out.push('\n');
        }
    }
    if let Some(chosen) = advice.chosen() {
        let _ = writeln!(out, "chosen: {}", chosen_sentence(chosen));
    }
    if let Some(command) = advice.train_command() {
        let _ = writeln!(out, "train it: {command}");
    }
    for note in notes(advice) {
        let _ = match note {
            Note::Text(text) => writeln!(out, "{text}"),
            Note::Command(what, command) => writeln!(out, "  {what}: {command}"),
        };
    }
    out
}

/// A line of what the advice leaves out: a sentence, or a command and what it does.
enum Note {
    /// A sentence.
    Text(String),
    /// What a command measures, and the command.
    Command(String, String),
}

/// What the advice leaves out: batch sizes that never reach the target, pairs no step trains,
/// and the configurations' unmeasured batch sizes with their commands.
fn notes(advice: &Advice) -> Vec<Note> {
    let mut notes = Vec::new();
    let unreached: Vec<String> = advice.scores.unreached.iter().map(u32::to_string).collect();
    if !unreached.is_empty() {
        notes.push(Note::Text(format!(
            "not ranked: no rate tried reaches the target at batch size {}",
            unreached.join(", ")
        )));
    }
    for u in &advice.untrainable {
        notes.push(Note::Text(format!(
            "not ranked: {} at batch {}: {}",
            u.config, u.batch_size, u.why
        )));
    }
    if !advice.missing.is_empty() {
        notes.push(Note::Text(format!(
            "not measured (no ok timing rows in '{}' made as the configuration replays by \
             default; --measure runs these):",
            advice.request.results.display()
        )));
        for m in &advice.missing {
            let sizes: Vec<String> = m.batch_sizes.iter().map(u32::to_string).collect();
            notes.push(Note::Command(
                format!("{} at batch {}", m.config, sizes.join(", ")),
                m.command.clone(),
            ));
        }
    }
    notes
}

/// The advice in Markdown: how it was computed, the table, the choice and its command, what
/// is missing.
pub fn markdown(advice: &Advice) -> String {
    let mut out = format!(
        "# Advice: {}\n\n{}\n\n",
        advice.request.goal,
        method(advice)
    );
    let (header, rows) = table(advice);
    if rows.is_empty() {
        out.push_str("No configuration is measured at a batch size that reaches the target.\n");
    } else {
        let _ = writeln!(out, "| {} |", header.join(" | "));
        let _ = writeln!(out, "|{}", " --- |".repeat(header.len()));
        for row in &rows {
            let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
            let _ = writeln!(out, "| {} |", cells.join(" | "));
        }
    }
    if let Some(chosen) = advice.chosen() {
        let _ = writeln!(out, "\nChosen: {}.", chosen_sentence(chosen));
    }
    if let Some(command) = advice.train_command() {
        let _ = writeln!(out, "\nTrain it:\n\n```sh\n{command}\n```");
    }
    for note in notes(advice) {
        let _ = match note {
            Note::Text(text) => writeln!(out, "\n{text}\n"),
            Note::Command(what, command) => writeln!(out, "- {what}: `{command}`"),
        };
    }
    out
}

/// One (configuration, batch size) of `advice.csv`; units are in the column names.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdviceRow {
    /// Rank from 1 by the advice's order; empty when not measured.
    pub rank: Option<usize>,
    /// Whether this is the advice's choice.
    pub chosen: bool,
    /// `ranked` or `not measured`.
    pub status: &'static str,
    /// The configuration's name.
    pub config: String,
    /// Its platform.
    pub platform: String,
    /// The configuration file, as given.
    pub config_file: String,
    /// vCPUs, count.
    pub vcpus: usize,
    /// GPU model; empty without one.
    pub gpu: Option<String>,
    /// GPUs attached, fractions allowed.
    pub gpu_count: f64,
    /// The backend it replays on.
    pub backend: &'static str,
    /// The step it takes.
    pub step: &'static str,
    /// vCPUs asked for (the rows' `threads_requested`).
    pub threads: u32,
    /// GPU share emulated, a fraction; empty without a GPU.
    pub gpu_share: Option<f64>,
    /// Dataset.
    pub dataset: &'static str,
    /// Hidden units.
    pub hidden_units: u32,
    /// Target test accuracy, a fraction.
    pub target_accuracy: f64,
    /// Images per update.
    pub batch_size: u32,
    /// The batch size's best learning rate.
    pub learning_rate: f64,
    /// Seeds scored at that rate, count.
    pub seeds: usize,
    /// Seeds that missed the target, count.
    pub misses: usize,
    /// Mean training images to the target.
    pub images_to_target: Option<f64>,
    /// Mean epochs to the target.
    pub epochs_to_target: Option<f64>,
    /// Training images per epoch of the convergence runs.
    pub epoch_images: u64,
    /// Images between the convergence runs' evaluations.
    pub eval_every_images: u64,
    /// Measured warm training speed, images per second.
    pub throughput_images_per_s: Option<f64>,
    /// Measured warm-up added once per run, seconds.
    pub warmup_s: Option<f64>,
    /// Whether the speed excludes the runs' first rows (`false`: one-epoch runs, warm-up inside).
    pub warm_rate: Option<bool>,
    /// Training images timed for the speed, count.
    pub timed_images: Option<u64>,
    /// Runs timed, count.
    pub timed_runs: Option<usize>,
    /// Devices the timed rows ran on, `;`-separated.
    pub devices: String,
    /// Predicted training wall time to the target, seconds.
    pub predicted_time_s: Option<f64>,
    /// Predicted cost to the target on the tariff, in `currency`.
    pub predicted_cost: Option<f64>,
    /// The tariff's currency.
    pub currency: String,
    /// The tariff, in one line.
    pub billing: String,
    /// The study's choice (batch 1, rate 0.1) on this configuration: `estimated`, `not tuned`,
    /// `not reached` or `not measured`.
    pub study_status: &'static str,
    /// The study's choice's predicted time, seconds.
    pub study_time_s: Option<f64>,
    /// The study's choice's predicted cost, in `currency`.
    pub study_cost: Option<f64>,
}

impl AdviceRow {
    /// The row of `line` in `advice`.
    fn of(advice: &Advice, line: &Line) -> Self {
        let (score, config, speed) = (&line.score, &line.config, line.throughput.as_ref());
        let (study_status, study) = match &line.study {
            StudyEstimate::NotTuned => ("not tuned", None),
            StudyEstimate::NotReached => ("not reached", None),
            StudyEstimate::NotMeasured => ("not measured", None),
            StudyEstimate::Estimated(e) => ("estimated", Some(e)),
        };
        let devices = speed.map(|s| s.devices.join(";")).unwrap_or_default();
        Self {
            rank: line.rank,
            chosen: line.is_chosen(),
            status: if line.rank.is_some() {
                "ranked"
            } else {
                "not measured"
            },
            config: config.name.clone(),
            platform: config.platform.clone(),
            config_file: line.path.display().to_string(),
            vcpus: config.hardware.vcpus,
            gpu: config.hardware.gpu.clone(),
            gpu_count: config.hardware.gpu_count,
            backend: line.way.backend.name(),
            step: line.way.step.name(),
            threads: line.way.threads,
            gpu_share: line.way.gpu_share,
            dataset: advice.request.goal.dataset.name(),
            hidden_units: advice.request.goal.hidden_units,
            target_accuracy: advice.request.goal.target.fraction(),
            batch_size: score.batch_size,
            learning_rate: score.learning_rate,
            seeds: score.runs,
            misses: score.misses,
            images_to_target: score.mean_images,
            epochs_to_target: score.epochs(),
            epoch_images: score.epoch_images,
            eval_every_images: score.eval_every,
            throughput_images_per_s: speed.map(|s| s.images_per_s),
            warmup_s: speed.map(|s| s.warmup_s),
            warm_rate: speed.map(|s| s.warm),
            timed_images: speed.map(|s| s.images),
            timed_runs: speed.map(|s| s.runs),
            devices,
            predicted_time_s: line.estimate.as_ref().map(|e| e.seconds),
            predicted_cost: line.estimate.as_ref().map(|e| e.cost),
            currency: config.pricing.currency.clone(),
            billing: config.pricing.billing_text(),
            study_status,
            study_time_s: study.map(|e| e.seconds),
            study_cost: study.map(|e| e.cost),
        }
    }
}

/// The advice as CSV: a header, then one [`AdviceRow`] per (configuration, batch size), the
/// ranked first.
pub fn csv(advice: &Advice) -> Result<Vec<u8>, csv::Error> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for line in &advice.lines {
        writer.serialize(AdviceRow::of(advice, line))?;
    }
    if advice.lines.is_empty() {
        // serde writes the header with the first row; an empty advice still gets it.
        writer.write_record(ADVICE_COLUMNS)?;
    }
    writer
        .into_inner()
        .map_err(|e| csv::Error::from(e.into_error()))
}

/// The columns of `advice.csv`, in order ([`AdviceRow`]'s fields).
pub const ADVICE_COLUMNS: &[&str] = &[
    "rank",
    "chosen",
    "status",
    "config",
    "platform",
    "config_file",
    "vcpus",
    "gpu",
    "gpu_count",
    "backend",
    "step",
    "threads",
    "gpu_share",
    "dataset",
    "hidden_units",
    "target_accuracy",
    "batch_size",
    "learning_rate",
    "seeds",
    "misses",
    "images_to_target",
    "epochs_to_target",
    "epoch_images",
    "eval_every_images",
    "throughput_images_per_s",
    "warmup_s",
    "warm_rate",
    "timed_images",
    "timed_runs",
    "devices",
    "predicted_time_s",
    "predicted_cost",
    "currency",
    "billing",
    "study_status",
    "study_time_s",
    "study_cost",
];

/// Writes `advice.csv` and `advice.md` into `out` (created if missing), each whole or not at
/// all; returns their paths.
pub fn write_advice(advice: &Advice, out: &Path) -> Result<Vec<PathBuf>, AdviseError> {
    let failed = |path: &Path| {
        let path = path.to_owned();
        move |source| AdviseError::Write { path, source }
    };
    let csv = csv(advice).map_err(|e| AdviseError::Write {
        path: out.join(ADVICE_CSV),
        source: std::io::Error::other(e),
    })?;
    std::fs::create_dir_all(out).map_err(failed(out))?;
    let mut written = Vec::new();
    for (name, bytes) in [
        (ADVICE_CSV, csv),
        (ADVICE_MD, markdown(advice).into_bytes()),
    ] {
        let path = out.join(name);
        replay_core::fs::write_atomically(&path, &bytes).map_err(failed(&path))?;
        written.push(path);
    }
    Ok(written)
}
