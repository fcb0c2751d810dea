//! A Keras-style progress line on stderr:
//! `60000/60000 [==============================] - 2s 35us/step - loss: 0.0314 - accuracy: 0.8325`.
//!
//! Drawn only when stderr is a terminal, at most every 100 ms, and finished with the whole
//! epoch's figures. The line is built by [`render`] without I/O, so it can be tested.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use replay_model::Progress;

const WIDTH: usize = 30;
const REDRAW: Duration = Duration::from_millis(100);

/// The progress line for `progress` after `elapsed` of the epoch.
pub fn render(progress: &Progress, elapsed: Duration) -> String {
    let total = progress.total_samples.max(1);
    let done = progress.samples.min(total);
    let filled = done * WIDTH / total;
    let bar = if done == total {
        "=".repeat(WIDTH)
    } else {
        format!("{}>{}", "=".repeat(filled), ".".repeat(WIDTH - filled - 1))
    };
    let per_step = elapsed.as_secs_f64() / progress.step.max(1) as f64;
    let per_step = if per_step >= 1.0 {
        format!("{per_step:.0}s/step")
    } else if per_step >= 1e-3 {
        format!("{:.0}ms/step", per_step * 1e3)
    } else {
        format!("{:.0}us/step", per_step * 1e6)
    };
    let digits = total.to_string().len();
    format!(
        "{done:>digits$}/{total} [{bar}] - {:.0}s {per_step} - loss: {:.4} - accuracy: {:.4}",
        elapsed.as_secs_f64(),
        progress.loss,
        progress.accuracy,
    )
}

/// Draws [`render`]'s line on stderr while an epoch trains.
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

    /// Restarts the clock for a new epoch.
    pub fn start_epoch(&mut self, epoch: usize, epochs: usize) {
        if self.enabled {
            eprintln!("Epoch {epoch}/{epochs}");
        }
        self.started = Instant::now();
        self.last_draw = None;
        self.last = None;
    }

    /// Records progress; redraws when 100 ms have passed since the last drawing.
    pub fn update(&mut self, progress: &Progress) {
        self.last = Some(*progress);
        if !self.enabled {
            return;
        }
        let now = Instant::now();
        if self
            .last_draw
            .is_none_or(|t| now.duration_since(t) >= REDRAW)
        {
            self.last_draw = Some(now);
            self.draw(progress, false);
        }
    }

    /// Draws the final state of the epoch and ends the line.
    pub fn finish(&mut self) {
        if let (true, Some(progress)) = (self.enabled, self.last) {
            self.draw(&progress, true);
        }
    }

    fn draw(&self, progress: &Progress, last: bool) {
        let line = render(progress, self.started.elapsed());
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line}\x1b[K");
        if last {
            let _ = writeln!(err);
        }
        let _ = err.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(samples: usize) -> Progress {
        Progress {
            epoch: 1,
            step: samples,
            steps: 60_000,
            samples,
            total_samples: 60_000,
            loss: 0.03141,
            accuracy: 0.83251,
        }
    }

    #[test]
    fn a_finished_epoch_looks_like_keras() {
        let line = render(&progress(60_000), Duration::from_millis(2100));
        assert_eq!(
            line,
            "60000/60000 [==============================] - 2s 35us/step - loss: 0.0314 - \
             accuracy: 0.8325"
        );
    }

    #[test]
    fn a_running_epoch_shows_an_arrow_and_aligned_counts() {
        let line = render(&progress(30_000), Duration::from_secs(30));
        assert!(
            line.starts_with("30000/60000 [===============>..............] - 30s 1ms/step"),
            "{line}"
        );
        let line = render(&progress(5), Duration::from_secs(10));
        assert!(line.starts_with("    5/60000 [>....."), "{line}");
        assert!(line.contains(" 2s/step"), "{line}");
    }
}
