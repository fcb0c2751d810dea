//! Lines for people at a terminal: the Keras-style progress line of a training epoch, the
//! `%%time`-like summary of a finished one, durations and the summary of repeated runs.
//! Strings only: [`crate::terminal`] and the runner decide where they go.

use std::time::Duration;

use replay_core::Progress;

use replay_store::ResultRow;

use crate::TargetOutcome;

/// Width of the progress bar, in characters (Keras' own).
const BAR_WIDTH: usize = 30;

/// The progress line for `progress` after `elapsed` of the epoch:
/// `60000/60000 [==============================] - 2s 35us/step - loss: 0.0314 - accuracy: 0.8325`.
pub fn progress_line(progress: &Progress, elapsed: Duration) -> String {
    let total = progress.total_samples.max(1);
    let done = progress.samples.min(total);
    let filled = done * BAR_WIDTH / total;
    let bar = if done == total {
        "=".repeat(BAR_WIDTH)
    } else {
        format!(
            "{}>{}",
            "=".repeat(filled),
            ".".repeat(BAR_WIDTH - filled - 1)
        )
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

/// Seconds the way `%%time` prints them: `1min 46s`, `4.52 s`, `35 ms`.
pub fn duration(seconds: f64) -> String {
    if seconds >= 59.5 {
        let whole = seconds.round();
        let minutes = (whole / 60.0).floor();
        format!("{minutes:.0}min {:.0}s", whole - minutes * 60.0)
    } else if seconds >= 1.0 {
        format!("{seconds:.2} s")
    } else {
        format!("{:.0} ms", seconds * 1e3)
    }
}

/// `3 runs: wall time median 1.20 s, min 1.10 s, max 1.31 s`, for more than one run.
pub fn repeats_summary(walls: &[f64]) -> Option<String> {
    let mut sorted = walls.to_vec();
    sorted.sort_by(f64::total_cmp);
    let count = sorted.len();
    if count < 2 {
        return None;
    }
    // The middle value, or the mean of the two middle ones.
    let median = (sorted[(count - 1) / 2] + sorted[count / 2]) / 2.0;
    let (median, min, max) = (
        duration(median),
        duration(sorted[0]),
        duration(sorted[count - 1]),
    );
    Some(format!(
        "{count} runs: wall time median {median}, min {min}, max {max}"
    ))
}

/// The line that ends a run with a target accuracy: `reached 94 % after 64,000 images (1.07
/// epochs) in 0.31 s of training (0.04 s evaluating); cost 0.0004 RUB`, or `did not reach 94 %
/// in 20 epochs (best 93.91 %); ...`.
pub fn target_summary(outcome: &TargetOutcome, epochs: usize) -> String {
    let spent = format!(
        "{} images ({:.2} epochs) in {} of training ({} evaluating); cost {:.4} {}",
        thousands(outcome.images),
        outcome.epochs(),
        duration(outcome.train_s),
        duration(outcome.eval_s),
        outcome.cost,
        outcome.currency,
    );
    if outcome.reached {
        format!("reached {} after {spent}", outcome.target)
    } else {
        let best = outcome.best_accuracy.map_or_else(
            || "no evaluation".to_string(),
            |b| format!("best {:.2} %", b * 100.0),
        );
        format!(
            "did not reach {} in {epochs} epochs ({best}); trained {spent}",
            outcome.target
        )
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The summary of an epoch's row, as `%%time` and Keras would print it, in four lines.
pub fn epoch_summary(row: &ResultRow, epochs: usize) -> String {
    let accuracy = row.test_accuracy.map_or_else(
        || "not evaluated (interrupted)".to_string(),
        |a| format!("{:.2} %", a * 100.0),
    );
    let percent = |fraction: Option<f64>| fraction.map_or(f64::NAN, |f| f * 100.0);
    format!(
        "{} [{}] {} ({} step) on {} ({}), epoch {}/{epochs}: {} samples{}\n\
         CPU times: user {}, sys {}, total {}\n\
         Wall time: {}\n\
         train loss {:.4}, train accuracy {:.2} %, test accuracy {accuracy}; cost {:.4} {} ({})",
        row.config,
        row.platform,
        row.implementation,
        row.step,
        row.backend,
        row.device,
        row.epoch,
        row.samples,
        // A span of an epoch (--eval-every), or a run with a target: where the run stands.
        match row.images {
            Some(images) if images != row.samples || row.target_accuracy.is_some() => {
                format!(" ({} trained in all)", thousands(images))
            }
            _ => String::new(),
        },
        duration(row.user_s),
        duration(row.sys_s),
        duration(row.user_s + row.sys_s),
        duration(row.wall_s),
        row.train_loss.unwrap_or(f64::NAN),
        percent(row.train_accuracy),
        row.cost,
        row.currency,
        row.billing,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use replay_store::testutil::sample_row;

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
        let line = progress_line(&progress(60_000), Duration::from_millis(2100));
        assert_eq!(
            line,
            "60000/60000 [==============================] - 2s 35us/step - loss: 0.0314 - \
             accuracy: 0.8325"
        );
    }

    #[test]
    fn a_running_epoch_shows_an_arrow_and_aligned_counts() {
        let line = progress_line(&progress(30_000), Duration::from_secs(30));
        assert!(
            line.starts_with("30000/60000 [===============>..............] - 30s 1ms/step"),
            "{line}"
        );
        let line = progress_line(&progress(5), Duration::from_secs(10));
        assert!(line.starts_with("    5/60000 [>....."), "{line}");
        assert!(line.contains(" 2s/step"), "{line}");
    }

    #[test]
    fn repeats_are_summarised_by_their_median_and_range() {
        assert_eq!(repeats_summary(&[2.0]), None);
        assert_eq!(
            repeats_summary(&[2.0, 1.0, 4.0]).unwrap(),
            "3 runs: wall time median 2.00 s, min 1.00 s, max 4.00 s"
        );
        assert_eq!(
            repeats_summary(&[4.0, 1.0, 2.0, 10.0]).unwrap(),
            "4 runs: wall time median 3.00 s, min 1.00 s, max 10.00 s"
        );
    }

    #[test]
    fn durations_print_like_percent_percent_time() {
        assert_eq!(duration(106.0), "1min 46s");
        assert_eq!(duration(179.6), "3min 0s");
        assert_eq!(duration(59.7), "1min 0s");
        assert_eq!(duration(4.521), "4.52 s");
        assert_eq!(duration(0.035), "35 ms");
    }

    #[test]
    fn an_epoch_summary_reads_like_percent_percent_time() {
        let text = epoch_summary(&sample_row(), 2);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            "g2.mig [Yandex DataSphere] burn (fused step) on wgpu (llvmpipe (LLVM 15.0.7, 256 \
             bits)), epoch 1/2: 60000 samples"
        );
        assert_eq!(
            lines[1],
            "CPU times: user 1min 31s, sys 11.10 s, total 1min 42s"
        );
        assert_eq!(lines[2], "Wall time: 1min 33s");
        assert!(
            lines[3].starts_with(
                "train loss 0.0314, train accuracy 83.25 %, test accuracy 91.27 %; cost 2.0088 RUB"
            ),
            "{}",
            lines[3]
        );
    }
}
