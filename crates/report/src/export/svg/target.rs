//! The chart of time and cost to a target accuracy (`time_to_target_<target>.svg`): one point
//! per group that reached it (its MLPerf-scored time and cost, [`crate::TargetReport`]),
//! numbered fastest first; the groups trained the study's way (batch size 1, learning rate
//! 0.1) as circles, the others as squares, so the study's way sits beside the best one, which
//! is named on the chart. Groups that did not converge are named below the key.

use super::canvas::{Colour, colour};
use super::layout::{Entry, Swatch};
use super::scatter::{Point, Scatter, Style, colour_of};
use super::{Chart, implementations, no_data};
use crate::export::markdown::number;
use crate::report::{GroupReport, Report, STUDY_WORKLOAD, TargetReport, percent_label};

/// Whether the group trained with the study's batch size and learning rate.
fn study_settings(g: &GroupReport) -> bool {
    g.batch_size == STUDY_WORKLOAD.batch_size
        && (g.learning_rate - STUDY_WORKLOAD.learning_rate).abs() < 1e-12
}

/// The groups with the target `target` (as [`percent_label`] writes it), with their scores.
fn groups<'a>(report: &'a Report, target: &str) -> Vec<(&'a GroupReport, &'a TargetReport)> {
    report
        .groups
        .iter()
        .filter_map(|g| Some((g, g.to_target.as_ref()?)))
        .filter(|(_, t)| percent_label(t.target_accuracy) == target)
        .collect()
}

/// `time_to_target_<target>.svg`.
pub(super) fn time_to_target(report: &Report, target: &str) -> String {
    let title = Chart::TimeToTarget {
        target: target.to_string(),
    }
    .title();
    let all = groups(report, target);
    let mut reached: Vec<(&GroupReport, f64, f64, &TargetReport)> = all
        .iter()
        .filter_map(|&(g, t)| Some((g, t.time_to_target_s?, t.cost_to_target?, t)))
        .collect();
    reached.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.2.total_cmp(&b.2)));
    if reached.is_empty() {
        return no_data(
            &title,
            &format!("No group reached {target} %: none converged."),
        );
    }
    let cheapest = reached
        .iter()
        .enumerate()
        .min_by(|a, b| (a.1).2.total_cmp(&(b.1).2))
        .map_or(0, |(i, _)| i);
    let currency = report.single_currency();
    let names = implementations(&report.groups);
    let points: Vec<Point> = reached
        .iter()
        .enumerate()
        .map(|(i, &(g, time, cost, t))| {
            let money = match currency {
                Some(c) if cost > 0.0 => format!("{} {c}", number(cost)),
                Some(c) => format!("free (0 {c})"),
                None => format!("{} {}", number(cost), g.currency),
            };
            let epochs = t
                .epochs_to_target
                .map(|e| format!(" ({} epochs)", number(e)))
                .unwrap_or_default();
            let images = t.images_to_target.map_or_else(String::new, |n| {
                format!(", {} images{epochs}", number(n.round()))
            });
            let caption = match (i == 0, i == cheapest) {
                (true, true) => Some(format!("fastest and cheapest: {}", g.label)),
                (true, false) => Some(format!("fastest: {}", g.label)),
                (false, true) => Some(format!("cheapest: {}", g.label)),
                (false, false) => None,
            };
            let missed = match t.missed {
                0 => String::new(),
                n => format!(", {n} missed"),
            };
            Point {
                at: (time, cost),
                style: Style {
                    colour: colour_of(&names, g),
                    filled: true,
                    square: !study_settings(g),
                },
                key: format!(
                    "{}, {} s, {money}{images}, {} of {} runs scored{missed}",
                    g.label,
                    number(time),
                    t.scored_runs,
                    t.runs
                ),
                caption,
                study: None,
            }
        })
        .collect();
    let notes: Vec<String> = all
        .iter()
        .filter(|(_, t)| t.time_to_target_s.is_none())
        .map(|(g, t)| {
            let why = if t.runs == 0 {
                "no complete run".to_string()
            } else {
                format!("did not converge ({} of {} runs missed)", t.missed, t.runs)
            };
            format!("{}: {why}", g.label)
        })
        .collect();
    let mut legend: Vec<Entry> = names
        .iter()
        .enumerate()
        .filter(|(_, name)| reached.iter().any(|r| r.0.implementation == **name))
        .map(|(i, name)| Entry::new(Swatch::Dot(colour(i), true), *name))
        .collect();
    if points.iter().any(|p| !p.style.square) {
        legend.push(Entry::new(
            Swatch::Dot(Colour::GREY, true),
            "the study's batch size and rate (1, 0.1)",
        ));
    }
    if points.iter().any(|p| p.style.square) {
        legend.push(Entry::new(
            Swatch::Square(Colour::GREY, true),
            "other batch sizes or rates",
        ));
    }
    let y_desc = match currency {
        Some(currency) => format!("cost to {target} %, {currency}"),
        None => format!("cost to {target} %, in each point's currency"),
    };
    Scatter {
        title,
        x_desc: format!("training time to {target} %, s (left is faster)"),
        y_desc,
        legend,
        points,
        notes,
    }
    .draw()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::tests::{row, set};
    use replay_store::ResultRow;

    /// Three seeds of a group that reach 94 % after `images` images at `per_image` seconds
    /// (and RUB) an image, or that miss it (`None`).
    fn runs(config: &str, batch: u32, images: Option<u64>, per_image: f64) -> Vec<ResultRow> {
        (1..=3)
            .map(|seed| {
                let n = images.unwrap_or(60_000);
                #[allow(clippy::cast_precision_loss)]
                let time = n as f64 * per_image;
                let mut r = row(
                    &format!("{config}-{batch}-{seed}"),
                    config,
                    "burn",
                    1,
                    time,
                    time,
                    if images.is_some() { 0.95 } else { 0.5 },
                );
                r.samples = n;
                r.images = Some(n);
                r.train_s = Some(time);
                r.batch_size = batch;
                r.seed = seed;
                r.target_accuracy = Some(0.94);
                r.target_reached = Some(images.is_some());
                r
            })
            .collect()
    }

    #[test]
    fn the_chart_ranks_the_groups_that_converged_and_names_the_others() {
        let rows = [
            runs("c1.4", 1, Some(30_000), 1e-4),
            runs("c1.4", 32, Some(40_000), 1e-5),
            runs("c1.8", 256, None, 1e-6),
        ]
        .concat();
        let report = Report::build(&set(rows), &[]);
        let svg = time_to_target(&report, "94");
        assert!(
            svg.contains(
                &Chart::TimeToTarget {
                    target: "94".to_string()
                }
                .title()
            )
        );
        // Batch 32 is the fastest and the cheapest: a square, named.
        assert!(
            svg.contains(">fastest and cheapest: c1.4 / burn / wgpu / fused (batch 32)</text>"),
            "{svg}"
        );
        assert!(
            svg.contains(">1: c1.4 / burn / wgpu / fused (batch 32), 0.400 s"),
            "{svg}"
        );
        assert!(
            svg.contains(">2: c1.4 / burn / wgpu / fused (batch 1), 3.00 s"),
            "{svg}"
        );
        assert!(
            svg.contains(">c1.8 / burn: did not converge (3 of 3 runs missed)</text>"),
            "{svg}"
        );
        assert!(svg.contains(">other batch sizes or rates</text>"), "{svg}");
        let none = time_to_target(&report, "99");
        assert!(none.contains("No group reached 99 %"), "{none}");
    }
}
