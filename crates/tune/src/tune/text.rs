//! What a tune prints: the estimate, a line per pair, the table of the best rates.

use replay_session::duration;

use super::{Estimate, PairReport, TuneOutcome};
use crate::convergence::percent;
use crate::score::PairScore;

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 epoch`, `3 epochs`.
fn plural(n: u64, what: &str) -> String {
    if n == 1 {
        format!("{n} {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// Comma-separated.
fn list<T: ToString>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The line printed before the first run: what, where, how many runs, how long.
pub fn estimate_line(e: &Estimate) -> String {
    let shard = e.shard.map_or(String::new(), |s| format!(" (shard {s})"));
    let (fastest, slowest) = e
        .epoch_s
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(lo, hi), &(_, s)| {
            (lo.min(s), hi.max(s))
        });
    let epoch = if e.epoch_s.is_empty() {
        String::new()
    } else if (slowest - fastest) < 0.05 * slowest {
        format!("; an epoch takes {} on one core here", duration(slowest))
    } else {
        format!(
            "; an epoch takes {} to {} on one core here",
            duration(fastest),
            duration(slowest)
        )
    };
    format!(
        "tune {}: batch sizes {}{shard}, {}, at most {} a run, evaluated every {} of {} \
         training images; on {}, {} runs at a time. At least {} runs to make ({} held in \
         '{}'){epoch}: about {} if runs average {}, {} if every run trains all {} (searching \
         adds pairs)",
        e.key,
        list(&e.batch_sizes),
        plural(e.seeds, "seed"),
        plural(u64::from(e.epochs), "epoch"),
        thousands(e.eval_every),
        thousands(e.epoch_images),
        e.backend,
        e.workers,
        e.runs_at_least,
        e.runs_held,
        e.path.display(),
        duration(e.typical_s),
        plural(e.typical_epochs() as u64, "epoch"),
        duration(e.capped_s),
        e.epochs,
    )
}

/// A rate as written in the convergence file.
fn rate(r: f64) -> String {
    format!("{r}")
}

/// Epochs with two decimals.
fn epochs(images: f64, epoch_images: u64) -> String {
    format!("{:.2}", images / epoch_images.max(1) as f64)
}

/// A pair's line: each seed's images to target, and the MLPerf mean or why there is none.
pub fn pair_line(report: &PairReport, target: f64) -> String {
    let s = &report.tried.score;
    let seeds = list(report.images.iter().map(|(_, images)| match images {
        Some(n) => thousands(*n),
        None => "missed".to_string(),
    }));
    let mut notes = Vec::new();
    if report.held > 0 {
        notes.push(format!("{} from the file", report.held));
    }
    if report.called_off > 0 {
        notes.push(format!(
            "{} seed{} not run",
            report.called_off,
            if report.called_off == 1 { "" } else { "s" }
        ));
    }
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" [{}]", notes.join("; "))
    };
    let result = match s.mean_images {
        Some(mean) => format!(
            "mean {} ({} epochs)",
            thousands(mean.round() as u64),
            epochs(mean, s.epoch_images)
        ),
        None => format!(
            "does not converge (best accuracy {} % on average)",
            percent(round4(report.tried.best_accuracy))
        ),
    };
    format!(
        "batch {}, rate {}: images to {} %: {seeds} -> {result}{notes}",
        s.batch_size,
        rate(s.learning_rate),
        percent(target),
    )
}

/// A fraction rounded to four decimals (a hundredth of a percent).
fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// `mean (min-max)` of a converged pair's images, or epochs.
fn spread(s: &PairScore, unit: impl Fn(f64) -> String) -> String {
    match (s.mean_images, s.min_images, s.max_images) {
        (Some(mean), Some(min), Some(max)) => {
            format!("{} ({}-{})", unit(mean), unit(min as f64), unit(max as f64))
        }
        _ => "-".to_string(),
    }
}

/// The table printed at the end: per batch size the best rate, its images and epochs to
/// target (MLPerf mean, min-max over the runs that reached it), and the rates that did not
/// converge; then the study's pair (batch size 1, rate 0.1) when it was scored.
pub fn table(outcome: &TuneOutcome) -> String {
    let key = &outcome.key;
    let target = percent(key.target_accuracy);
    let mut lines = vec![format!(
        "time to {target} % test accuracy: {}, {} hidden units; MLPerf mean of {} ({}), each \
         run at most {} ('{}')",
        key.dataset,
        key.hidden_units,
        plural(outcome.seeds, "seed"),
        if outcome.seeds >= 3 {
            "the fewest and the most dropped"
        } else {
            "with fewer than 3, none dropped"
        },
        plural(u64::from(outcome.epochs), "epoch"),
        outcome.path.display()
    )];
    let header = [
        "batch".to_string(),
        "best rate".to_string(),
        format!("images to {target} % (mean, min-max)"),
        "epochs (mean, min-max)".to_string(),
        "did not converge at".to_string(),
    ];
    let mut rows = vec![header];
    for batch in &outcome.batches {
        let failed = list(
            batch
                .tried
                .iter()
                .filter(|t| !t.score.converges())
                .map(|t| rate(t.score.learning_rate)),
        );
        let failed = if failed.is_empty() {
            "-".to_string()
        } else {
            failed
        };
        let row = match batch.best() {
            Some(best) => [
                batch.batch_size.to_string(),
                rate(best.learning_rate),
                spread(best, |n| thousands(n.round() as u64)),
                spread(best, |n| epochs(n, best.epoch_images)),
                failed,
            ],
            None => [
                batch.batch_size.to_string(),
                "none".to_string(),
                format!(
                    "no rate reached {target} % within {}",
                    plural(u64::from(outcome.epochs), "epoch")
                ),
                "-".to_string(),
                failed,
            ],
        };
        rows.push(row);
    }
    let widths: Vec<usize> = (0..5)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (cell, &w))| {
                if c < 2 {
                    format!("{cell:>w$}")
                } else {
                    format!("{cell:<w$}")
                }
            })
            .collect();
        lines.push(cells.join("  ").trim_end().to_string());
    }
    if let Some(study) = outcome.study() {
        let result = match study.mean_images {
            Some(mean) => format!(
                "{} images ({} epochs)",
                thousands(mean.round() as u64),
                epochs(mean, study.epoch_images)
            ),
            None => format!(
                "does not converge within {}",
                plural(u64::from(outcome.epochs), "epoch")
            ),
        };
        lines.push(format!("the study's batch size 1 and rate 0.1: {result}"));
    }
    lines.join("\n")
}

#[cfg(test)]
#[path = "text/tests.rs"]
mod tests;
