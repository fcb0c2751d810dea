//! Epoch time against batch size, log-log, for one workload (dataset and hidden units): one
//! line per configuration (and implementation, step, backend and settings: every group
//! setting but the batch size; the lines come from the report's grouping, [`lines`], so no
//! group hides another), labelled at its end. Lines that coincide are drawn once and labelled
//! together; labels stack in a column beside the plot, joined to their lines, so they never
//! overlap however many lines there are. The study's published times appear in the chart
//! of its workload only, at batch size 1.

use std::collections::BTreeMap;

use super::canvas::{
    Align, Anchor, Canvas, Colour, PixelBox, Text, colour, text_height, text_width,
};
use super::layout::{
    AXIS_SIZE, Entry, LABEL_SIZE, Legend, MARGIN, MIN_WIDTH, Swatch, below_title, draw_title,
    title_width,
};
use super::scale::{Plot, Scale, TICK_SIZE, tick, y_tick_width};
use super::scatter::did_not_learn_entry;
use super::{implementations, no_data};
use crate::export::markdown::number;
use crate::report::{GroupReport, Report, STUDY_WORKLOAD, Stats, line_labels, lines};

/// Width and least height of the plot, in pixels.
const PLOT_WIDTH: f64 = 560.0;
const PLOT_HEIGHT: f64 = 380.0;
/// Lines whose points all lie closer than this, in pixels, are drawn as one.
const COINCIDE: f64 = 2.0;
/// A label's lines are at most this many characters long (longer parts are broken).
const LABEL_CHARS: usize = 60;
/// Space between stacked labels, in pixels.
const LABEL_GAP: f64 = 6.0;

/// One line: its groups by batch size, the label of each line it stands for, its colour, and
/// the study's figures beside it.
struct Line<'a> {
    points: BTreeMap<u32, &'a GroupReport>,
    labels: Vec<String>,
    colour: Colour,
    /// (configuration, the study's wall time of one epoch at batch size 1).
    study: Vec<(String, f64)>,
}

/// Breaks `text` into lines of at most [`LABEL_CHARS`] characters, at `, `, `; ` or spaces
/// where it can.
fn wrap(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_inclusive(' ') {
        if !line.is_empty() && line.chars().count() + word.chars().count() > LABEL_CHARS {
            lines.push(line.trim_end().to_string());
            line.clear();
        }
        line.push_str(word);
    }
    if !line.trim().is_empty() {
        lines.push(line.trim_end().to_string());
    }
    lines
}

/// The label of lines drawn as one: the configurations of labels that agree but for it
/// joined (`c1.4, c1.8 / manual`), such parts joined with `; `.
fn joined(labels: &[String]) -> String {
    let mut parts: Vec<(&str, Vec<&str>)> = Vec::new();
    for label in labels {
        let (config, rest) = label.split_once(" / ").unwrap_or((label.as_str(), ""));
        match parts.iter_mut().find(|(r, _)| *r == rest) {
            Some((_, configs)) => configs.push(config),
            None => parts.push((rest, vec![config])),
        }
    }
    parts
        .iter()
        .map(|(rest, configs)| {
            let configs = configs.join(", ");
            if rest.is_empty() {
                configs
            } else {
                format!("{configs} / {rest}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A group's wall time per epoch; every group drawn has one (the others are left out).
fn wall(g: &GroupReport) -> Stats {
    g.wall_s.unwrap_or(Stats {
        median: f64::NAN,
        min: f64::NAN,
        max: f64::NAN,
        count: 0,
    })
}

/// `time_vs_batch_<dataset>_<hidden units>.svg`: groups without a whole epoch (no time per
/// epoch) are left out; groups that did not learn are hollow points.
pub(super) fn time_versus_batch(
    report: &Report,
    title: &str,
    dataset: &str,
    hidden: u32,
) -> String {
    let groups: Vec<&GroupReport> = report
        .groups
        .iter()
        .filter(|g| g.dataset == dataset && g.hidden_units == hidden && g.wall_s.is_some())
        .collect();
    if groups.is_empty() {
        return no_data(
            title,
            "No whole epoch of this workload finished with status ok.",
        );
    }
    let names = implementations(&report.groups);
    let study_chart = dataset == STUDY_WORKLOAD.dataset && hidden == STUDY_WORKLOAD.hidden_units;
    let by_line = lines(&groups);
    let representatives: Vec<&GroupReport> = by_line
        .iter()
        .filter_map(|points| points.values().next().copied())
        .collect();
    let labels = line_labels(&representatives);
    let mut lines: Vec<Line<'_>> = by_line
        .into_iter()
        .zip(labels)
        .map(|(points, label)| {
            let first = points.values().next().copied();
            let study = points
                .values()
                .filter(|_| study_chart)
                .filter_map(|g| {
                    let c = report
                        .study
                        .iter()
                        .find(|c| c.label.as_deref() == Some(g.label.as_str()))?;
                    Some((g.config.clone(), c.study_wall_s?))
                })
                .collect();
            Line {
                colour: colour(
                    first
                        .and_then(|g| names.iter().position(|s| *s == g.implementation))
                        .unwrap_or(0),
                ),
                points,
                labels: vec![label],
                study,
            }
        })
        .collect();

    let batches = || groups.iter().map(|g| f64::from(g.batch_size.max(1)));
    let x = Scale::logarithmic(
        batches().fold(f64::INFINITY, f64::min),
        batches().fold(0.0, f64::max),
    );
    let times = groups
        .iter()
        .flat_map(|g| [wall(g).min, wall(g).max])
        .chain(lines.iter().flat_map(|l| l.study.iter().map(|s| s.1)))
        .filter(|v| v.is_finite() && *v > 0.0);
    let (min, max) = (
        times.clone().fold(f64::INFINITY, f64::min),
        times.fold(0.0, f64::max),
    );
    let y = if min <= max {
        Scale::logarithmic(min, max)
    } else {
        // No time above zero: an empty axis.
        Scale::logarithmic(0.1, 1.0)
    };
    let y_desc = "wall time of one epoch, s (log scale; lower is faster)";
    let x_desc = "batch size, images per update (log scale)";
    let plot_height = PLOT_HEIGHT.max(text_width(y_desc, AXIS_SIZE) + 20.0);
    let left = MARGIN + text_height(AXIS_SIZE) + 12.0 + y_tick_width(&y, plot_height) + 7.0;
    let legend_top = below_title();

    // Lines that coincide are drawn once: their points all within COINCIDE pixels.
    let shape = |line: &Line<'_>| -> Vec<(u32, f64)> {
        line.points
            .iter()
            .map(|(b, g)| (*b, y.fraction(wall(g).median) * plot_height))
            .collect()
    };
    let mut merged: Vec<Line<'_>> = Vec::new();
    for line in lines.drain(..) {
        let own = shape(&line);
        let same = merged.iter_mut().find(|m| {
            let other = shape(m);
            m.colour == line.colour
                && other.len() == own.len()
                && other
                    .iter()
                    .zip(&own)
                    .all(|(a, b)| a.0 == b.0 && (a.1 - b.1).abs() < COINCIDE)
        });
        match same {
            Some(m) => {
                m.labels.extend(line.labels);
                m.study.extend(line.study);
            }
            None => merged.push(line),
        }
    }

    // Each line's label: its name(s), wrapped, then the study's figure(s) in red.
    let label_lines = |line: &Line<'_>| -> Vec<(String, Colour)> {
        let mut out: Vec<(String, Colour)> = wrap(&joined(&line.labels))
            .into_iter()
            .map(|l| (l, Colour::BLACK))
            .collect();
        let study = match line.study.as_slice() {
            [] => None,
            [(_, s)] => Some(format!("study (2023), batch 1: {} s", number(*s))),
            many => Some(format!(
                "study (2023), batch 1: {}",
                many.iter()
                    .map(|(c, s)| format!("{c} {} s", number(*s)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
        out.extend(
            study
                .iter()
                .flat_map(|s| wrap(s))
                .map(|l| (l, Colour::STUDY)),
        );
        out
    };
    let labels: Vec<Vec<(String, Colour)>> = merged.iter().map(label_lines).collect();
    let label_width = labels
        .iter()
        .flatten()
        .map(|(l, _)| text_width(l, LABEL_SIZE))
        .fold(0.0, f64::max);
    let plot_right = left + PLOT_WIDTH;
    let label_left = plot_right + 40.0;
    let width = [
        MIN_WIDTH,
        title_width(title),
        label_left + label_width + MARGIN,
    ]
    .into_iter()
    .fold(0.0, f64::max);
    // Colours as in the other charts; the legend names the implementations drawn here.
    let mut legend_entries: Vec<Entry> = names
        .iter()
        .enumerate()
        .filter(|(_, name)| groups.iter().any(|g| g.implementation == **name))
        .map(|(i, name)| Entry::new(Swatch::Line(colour(i)), *name))
        .collect();
    if groups.iter().any(|g| g.did_not_learn()) {
        legend_entries.push(did_not_learn_entry());
    }
    if merged.iter().any(|l| !l.study.is_empty()) {
        legend_entries.push(Entry::new(
            Swatch::Cross(Colour::STUDY),
            "study (2023), batch size 1",
        ));
    }
    let legend = Legend::layout(legend_entries, width - 2.0 * MARGIN);
    let width = width.max(legend.width + 2.0 * MARGIN);
    let top = legend_top + legend.height + 18.0;
    let plot = Plot {
        left,
        top,
        right: plot_right,
        bottom: top + plot_height,
    };

    // Labels stack top to bottom in the order of their lines' last points, each as near its
    // line's end as the ones above it allow.
    let line_height = text_height(LABEL_SIZE);
    let ends: Vec<(f64, f64)> = merged
        .iter()
        .map(|line| {
            line.points
                .iter()
                .next_back()
                .map_or((plot.right, plot.top), |(b, g)| {
                    (plot.x(&x, f64::from(*b)), plot.y(&y, wall(g).median))
                })
        })
        .collect();
    let mut order: Vec<usize> = (0..merged.len()).collect();
    order.sort_by(|&a, &b| ends[a].1.total_cmp(&ends[b].1));
    let mut tops = vec![0.0; merged.len()];
    let mut next_free = plot.top;
    for &i in &order {
        #[allow(clippy::cast_precision_loss)] // a few lines
        let h = labels[i].len() as f64 * line_height;
        let top = (ends[i].1 - h / 2.0).max(next_free);
        tops[i] = top;
        next_free = top + h + LABEL_GAP;
    }
    let desc_top = plot.bottom + 8.0 + text_height(TICK_SIZE) + 10.0;
    let height = (desc_top + text_height(AXIS_SIZE)).max(next_free) + MARGIN;

    let mut canvas = Canvas::new(width, height);
    draw_title(&mut canvas, title, width);
    legend.draw(&mut canvas, (width - legend.width) / 2.0, legend_top);
    batch_ticks(&mut canvas, &plot, &x, groups.iter().map(|g| g.batch_size));
    plot.y_ticks(&mut canvas, &y);
    plot.frame(&mut canvas);
    canvas.text(
        &Text::new(x_desc, (plot.left + plot.right) / 2.0, desc_top, AXIS_SIZE)
            .aligned(Anchor::Middle, Align::Top),
    );
    canvas.text(
        &Text::new(y_desc, MARGIN, (plot.top + plot.bottom) / 2.0, AXIS_SIZE)
            .aligned(Anchor::Middle, Align::Top)
            .upwards(),
    );
    for (i, line) in merged.iter().enumerate() {
        let points: Vec<(f64, f64)> = line
            .points
            .iter()
            .map(|(b, g)| (plot.x(&x, f64::from(*b)), plot.y(&y, wall(g).median)))
            .collect();
        canvas.polyline(&points, line.colour, 2.0);
        for ((_, g), &(px, py)) in line.points.iter().zip(&points) {
            let w = wall(g);
            if w.count > 1 {
                let (lo, hi) = (plot.y(&y, w.min), plot.y(&y, w.max));
                canvas.line((px, lo), (px, hi), line.colour, 1.5);
            }
            canvas.circle((px, py), 4.0, line.colour, !g.did_not_learn());
        }
        for (_, study) in &line.study {
            canvas.cross(
                (plot.x(&x, 1.0), plot.y(&y, *study)),
                6.0,
                Colour::STUDY,
                2.0,
            );
        }
        let (end, top) = (ends[i], tops[i]);
        #[allow(clippy::cast_precision_loss)] // a few lines
        let h = labels[i].len() as f64 * line_height;
        canvas.leader(end, (label_left - 4.0, top + h / 2.0));
        for (j, (text, colour)) in labels[i].iter().enumerate() {
            #[allow(clippy::cast_precision_loss)] // a few lines
            let y = top + j as f64 * line_height;
            let t = Text::new(text.clone(), label_left, y, LABEL_SIZE)
                .aligned(Anchor::Start, Align::Top);
            canvas.text(&t.coloured(*colour));
        }
    }
    canvas.finish()
}

/// Draws ticks at the batch sizes present, skipping those whose label would touch the one
/// before.
fn batch_ticks(canvas: &mut Canvas, plot: &Plot, x: &Scale, batches: impl Iterator<Item = u32>) {
    let mut batches: Vec<u32> = batches.collect();
    batches.sort_unstable();
    batches.dedup();
    let mut last_end = f64::NEG_INFINITY;
    for batch in batches {
        let px = plot.x(x, f64::from(batch));
        let label = tick(f64::from(batch));
        let text =
            Text::new(label, px, plot.bottom + 8.0, TICK_SIZE).aligned(Anchor::Middle, Align::Top);
        let b: PixelBox = text.bounds();
        canvas.line((px, plot.top), (px, plot.bottom), Colour::GRID, 1.0);
        canvas.line(
            (px, plot.bottom),
            (px, plot.bottom + 5.0),
            Colour::BLACK,
            1.0,
        );
        if b.x0 > last_end + 8.0 {
            canvas.text(&text);
            last_end = b.x1;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn groups_that_share_a_batch_size_are_never_drawn_as_one_line() {
        use crate::report::tests::{row, set};
        // Two groups that differ only in the threads the step used, at the same batch size.
        let mut two = row("r2", "c1.4", "burn", 1, 40.0, 0.1, 0.9);
        two.threads_used = 4;
        let rows = vec![row("r1", "c1.4", "burn", 1, 90.0, 0.1, 0.9), two];
        let report = Report::build(&set(rows), &[]);
        assert_eq!(report.groups.len(), 2);
        let svg = time_versus_batch(&report, "t", "mnist", 28);
        // One point per group (the legend's swatch is a smaller circle).
        assert_eq!(svg.matches("r=\"4\"").count(), 2, "{svg}");
        assert!(
            svg.contains("2 of 4 threads") && svg.contains("4 of 4 threads"),
            "{svg}"
        );
    }

    #[test]
    fn groups_that_did_not_learn_are_hollow_points_with_a_legend_entry() {
        use crate::report::tests::{row, set};
        let at = |batch: u32, wall_s: f64, accuracy: f64| {
            let mut r = row(
                &format!("r{batch}"),
                "c1.4",
                "burn",
                1,
                wall_s,
                0.1,
                accuracy,
            );
            r.batch_size = batch;
            r
        };
        let rows = vec![at(1, 90.0, 0.91), at(32, 9.0, 0.90), at(256, 3.0, 0.27)];
        let report = Report::build(&set(rows), &[]);
        let svg = time_versus_batch(&report, "t", "mnist", 28);
        let hollow = |svg: &str| {
            svg.lines()
                .filter(|l| l.contains("r=\"4\"") && l.contains("fill=\"#FFFFFF\""))
                .count()
        };
        assert_eq!(hollow(&svg), 1, "{svg}");
        assert!(
            svg.contains(">hollow: did not learn (accuracy over 5 points"),
            "{svg}"
        );
        let cost = super::super::scatter::time_versus_cost(&report);
        assert_eq!(
            cost.lines()
                .filter(|l| l.contains("<circle") && l.contains("fill=\"#FFFFFF\""))
                .count(),
            2,
            "the point and the legend's swatch: {cost}"
        );
        assert!(cost.contains(", did not learn</text>"), "{cost}");
        let learned = Report::build(&set(vec![at(1, 90.0, 0.91)]), &[]);
        let svg = time_versus_batch(&learned, "t", "mnist", 28);
        assert_eq!(hollow(&svg), 0);
        assert!(!svg.contains("did not learn"));
    }

    #[test]
    fn long_labels_wrap_and_coinciding_lines_share_one() {
        let long = "a ".repeat(50);
        assert!(wrap(&long).iter().all(|l| l.chars().count() <= LABEL_CHARS));
        assert_eq!(wrap("short label"), ["short label"]);
        let labels = ["c1.4 / manual".to_string(), "c1.8 / manual".to_string()];
        assert_eq!(joined(&labels), "c1.4, c1.8 / manual");
        let mixed = [
            "c1.4 / manual".to_string(),
            "c1.8 / burn".to_string(),
            "c1.80 / manual".to_string(),
        ];
        assert_eq!(joined(&mixed), "c1.4, c1.80 / manual; c1.8 / burn");
    }
}
