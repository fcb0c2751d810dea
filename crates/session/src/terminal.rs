//! What a person sees during a run: the Keras-style progress line on stderr while an epoch
//! trains (only when stderr is a terminal, at most every 100 ms, and once more with the epoch's
//! final figures), and the `%%time`-like summary of each epoch on stdout; the lines themselves
//! are written by the crate's text helpers.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use replay_core::Progress;
use replay_store::{HeaderVersion, ResultRow};

use crate::text::{duration, epoch_summary, progress_line, target_summary, thousands};
use crate::{Observer, SweepItem, TargetOutcome};

const REDRAW: Duration = Duration::from_millis(100);

/// What a person at a terminal sees of a run: the progress line of the epoch being trained,
/// the summary after it, a line per sweep item (the `runner` binary's [`Observer`]).
#[derive(Debug)]
pub struct ProgressBar {
    enabled: bool,
    started: Instant,
    last_draw: Option<Instant>,
    last: Option<Progress>,
    /// The rows of the epoch's spans so far (`--eval-every`), summed into its summary.
    spans: Vec<ResultRow>,
}

impl ProgressBar {
    /// A bar that draws only when stderr is a terminal and `visible` is true.
    pub fn new(visible: bool) -> Self {
        Self {
            enabled: visible && std::io::stderr().is_terminal(),
            started: Instant::now(),
            last_draw: None,
            last: None,
            spans: Vec::new(),
        }
    }

    fn draw(&self, progress: &Progress, last: bool) {
        let line = progress_line(progress, self.started.elapsed());
        let mut err = std::io::stderr().lock();
        let end = if last { "\n" } else { "" };
        let _ = write!(err, "\r{line}\x1b[K{end}");
        let _ = err.flush();
    }
}

impl Observer for ProgressBar {
    fn note(&mut self, text: &str) {
        println!("{text}");
    }

    fn target_finished(&mut self, outcome: &TargetOutcome, epochs: usize) {
        println!("{}", target_summary(outcome, epochs));
    }

    fn item_started(&mut self, position: usize, of: usize, item: &SweepItem) {
        let (plan, s) = (&item.plan, &item.plan.settings);
        println!(
            "[{}/{of}] {} ({}, {} on {}, {}, seed {}, repeat {}; sweep item {})",
            position + 1,
            plan.config.name,
            plan.config.platform,
            s.implementation,
            s.backend,
            s.workload(),
            s.seed,
            item.repeat,
            item.index
        );
    }

    fn results_upgraded(&mut self, path: &Path, rows: usize, from: HeaderVersion) {
        eprintln!(
            "upgraded '{}' from header version {} (added {}; {rows} rows kept: {})",
            path.display(),
            from.number(),
            from.added_since().join(", "),
            filled(from)
        );
    }

    fn epoch_started(&mut self, epoch: usize, epochs: usize) {
        if self.enabled {
            eprintln!("Epoch {epoch}/{epochs}");
        }
        self.started = Instant::now();
        (self.last_draw, self.last) = (None, None);
        self.spans.clear();
    }

    /// Redraws when 100 ms have passed since the last drawing.
    fn progress(&mut self, progress: &Progress) {
        self.last = Some(*progress);
        let now = Instant::now();
        if self.enabled && self.last_draw.is_none_or(|t| now - t >= REDRAW) {
            self.last_draw = Some(now);
            self.draw(progress, false);
        }
    }

    /// Draws the epoch's final state, ends the line, prints the `%%time` summary; after a
    /// span that ends inside the epoch (`--eval-every`), one line with its evaluation instead,
    /// the epoch's summary then covering all its spans.
    fn epoch_finished(&mut self, row: &ResultRow, epochs: usize) {
        if let (true, Some(progress)) = (self.enabled, self.last) {
            self.draw(&progress, true);
        }
        // A span that ends inside the epoch, evaluated, and not the run's last (its target).
        let inside = self.last.is_some_and(|p| {
            p.samples < p.total_samples
                && row.test_accuracy.is_some()
                && row.target_reached != Some(true)
        });
        if inside {
            println!("{}", span_line(row, self.last.map_or(0, |p| p.samples)));
            self.spans.push(row.clone());
        } else {
            println!("{}", epoch_summary(&epoch_of(&self.spans, row), epochs));
            self.spans.clear();
        }
    }
}

/// What an upgrade from `from` fills in: `dataset mnist and hidden_units 28 filled in, cells
/// not known left empty`.
fn filled(from: HeaderVersion) -> String {
    let known: Vec<String> = from
        .added_since()
        .into_iter()
        .filter_map(|column| Some(format!("{column} {}", from.known_value(column)?)))
        .collect();
    if known.is_empty() {
        "the added cells left empty".to_string()
    } else {
        format!(
            "{} filled in, cells not known left empty",
            known.join(" and ")
        )
    }
}

/// `evaluation at 20,000 images of epoch 2 (80,000 in all): test accuracy 84.95 %, train
/// loss 0.0391; training so far 0.45 s`.
fn span_line(row: &ResultRow, at: usize) -> String {
    format!(
        "evaluation at {} images of epoch {} ({} in all): test accuracy {:.2} %, train loss {:.4}; \
         training so far {}",
        thousands(at as u64),
        row.epoch,
        thousands(row.images.unwrap_or(row.samples)),
        row.test_accuracy.unwrap_or(f64::NAN) * 100.0,
        row.train_loss.unwrap_or(f64::NAN),
        duration(row.train_s.unwrap_or(row.wall_s)),
    )
}

/// The epoch that its `earlier` spans' rows and its `last` one make: samples, times and cost
/// summed, training loss and accuracy weighted by samples, the rest from the last span.
fn epoch_of(earlier: &[ResultRow], last: &ResultRow) -> ResultRow {
    let spans: Vec<&ResultRow> = earlier.iter().chain([last]).collect();
    let mut epoch = last.clone();
    let sum = |f: fn(&ResultRow) -> f64| spans.iter().map(|r| f(r)).sum::<f64>();
    epoch.samples = spans.iter().map(|r| r.samples).sum();
    epoch.wall_s = sum(|r| r.wall_s);
    epoch.user_s = sum(|r| r.user_s);
    epoch.sys_s = sum(|r| r.sys_s);
    epoch.cost = sum(|r| r.cost);
    let weighted = |f: fn(&ResultRow) -> Option<f64>| {
        let trained: f64 = spans
            .iter()
            .filter(|r| f(r).is_some())
            .map(|r| r.samples as f64)
            .sum();
        (trained > 0.0).then(|| {
            spans
                .iter()
                .filter_map(|r| f(r).map(|v| v * r.samples as f64))
                .sum::<f64>()
                / trained
        })
    };
    epoch.train_loss = weighted(|r| r.train_loss);
    epoch.train_accuracy = weighted(|r| r.train_accuracy);
    epoch
}
