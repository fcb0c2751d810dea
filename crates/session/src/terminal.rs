//! What a person sees during a run: the Keras-style progress line on stderr while an epoch
//! trains (only when stderr is a terminal, at most every 100 ms, and once more with the epoch's
//! final figures), and the `%%time`-like summary of each epoch on stdout; the lines themselves
//! are written by the crate's text helpers.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use replay_core::Progress;
use replay_store::{HeaderVersion, ResultRow};

use crate::text::{epoch_summary, progress_line};
use crate::{Observer, SweepItem};

const REDRAW: Duration = Duration::from_millis(100);

/// What a person at a terminal sees of a run: the progress line of the epoch being trained,
/// the summary after it, a line per sweep item (the `runner` binary's [`Observer`]).
#[derive(Debug)]
pub struct ProgressBar {
    enabled: bool,
    started: Instant,
    last_draw: Option<Instant>,
    last: Option<Progress>,
}

impl ProgressBar {
    /// A bar that draws only when stderr is a terminal and `visible` is true.
    pub fn new(visible: bool) -> Self {
        Self {
            enabled: visible && std::io::stderr().is_terminal(),
            started: Instant::now(),
            last_draw: None,
            last: None,
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
            "upgraded '{}' from header version {} (added {}; {rows} rows kept: dataset mnist and \
             hidden_units 28 filled in, cells not known left empty)",
            path.display(),
            from.number(),
            from.added_since().join(", ")
        );
    }

    fn epoch_started(&mut self, epoch: usize, epochs: usize) {
        if self.enabled {
            eprintln!("Epoch {epoch}/{epochs}");
        }
        self.started = Instant::now();
        (self.last_draw, self.last) = (None, None);
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

    /// Draws the epoch's final state, ends the line, prints the `%%time` summary.
    fn epoch_finished(&mut self, row: &ResultRow, epochs: usize) {
        if let (true, Some(progress)) = (self.enabled, self.last) {
            self.draw(&progress, true);
        }
        println!("{}", epoch_summary(row, epochs));
    }
}
