//! Charts of one row per group: horizontal bars (wall time, cost per run) and dots (accuracy
//! after each epoch), each with the runs' spread, its value written after it and the study's
//! figure beside it. A row per group reads at any number of groups: the chart grows downwards,
//! and the group's label, not a colour, names it.

use super::canvas::{
    Align, Anchor, Canvas, Colour, PixelBox, Text, colour, text_height, text_width,
};
use super::layout::{
    AXIS_SIZE, Entry, LABEL_SIZE, Legend, MARGIN, MIN_WIDTH, Swatch, below_title, draw_title,
    title_width,
};
use super::scale::{Plot, Scale, TICK_SIZE};
use super::{BAR_OPACITY, Chart, implementations, no_data};
use crate::export::markdown::{number, percent};
use crate::report::{GroupReport, Report};

/// Height of a row, in pixels.
const ROW: f64 = 30.0;
/// Width of the plot, in pixels.
const PLOT_WIDTH: f64 = 620.0;
/// Space between a row's last mark and its value, in pixels.
const VALUE_GAP: f64 = 10.0;

/// What one row shows.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    /// The group's label, left of the plot.
    label: String,
    /// The colour of its bar or dots.
    colour: Colour,
    /// A bar from the axis' start to this value.
    bar: Option<f64>,
    /// Dots, in order, joined by a line; filled or hollow.
    dots: Vec<(f64, bool)>,
    /// A whisker from min to max over runs.
    spread: Option<(f64, f64)>,
    /// The study's figure, a cross.
    study: Option<f64>,
    /// The value, written after the row's marks.
    value: String,
    /// The study's figure in words, written after the value in red.
    study_text: Option<String>,
}

/// A chart of rows: its title, axis, legend and rows.
struct Rows {
    title: String,
    x_desc: String,
    legend: Vec<Entry>,
    scale: Scale,
    rows: Vec<Row>,
}

impl Rows {
    /// Draws the chart.
    fn draw(&self) -> String {
        let label_width = self
            .rows
            .iter()
            .map(|r| text_width(&r.label, LABEL_SIZE))
            .fold(60.0, f64::max);
        let left = MARGIN + label_width + 12.0;
        let mut plot = Plot {
            left,
            top: 0.0,
            right: left + PLOT_WIDTH,
            bottom: 0.0,
        };
        let x_desc = format!("{}{}", self.x_desc, self.scale.note());
        // The right end of everything written after the rows' marks: the canvas reaches it.
        let text_end = self
            .rows
            .iter()
            .map(|row| self.texts_at(&plot, row).2)
            .fold(plot.right, f64::max);
        let width = [
            MIN_WIDTH,
            title_width(&self.title),
            text_end + MARGIN,
            plot.right + 60.0,
            text_width(&x_desc, AXIS_SIZE) + 2.0 * MARGIN,
        ]
        .into_iter()
        .fold(0.0, f64::max);
        let legend = Legend::layout(self.legend.clone(), width - 2.0 * MARGIN);
        let width = width.max(legend.width + 2.0 * MARGIN);
        let legend_top = below_title();
        plot.top = legend_top + legend.height + 16.0;
        #[allow(clippy::cast_precision_loss)] // a row per group
        let rows_height = self.rows.len() as f64 * ROW;
        plot.bottom = plot.top + rows_height;
        let desc_top = plot.bottom + 8.0 + text_height(TICK_SIZE) + 10.0;
        let height = desc_top + text_height(AXIS_SIZE) + MARGIN;

        let mut canvas = Canvas::new(width, height);
        draw_title(&mut canvas, &self.title, width);
        legend.draw(&mut canvas, (width - legend.width) / 2.0, legend_top);
        plot.x_ticks(&mut canvas, &self.scale);
        plot.frame(&mut canvas);
        canvas.text(
            &Text::new(x_desc, (plot.left + plot.right) / 2.0, desc_top, AXIS_SIZE)
                .aligned(Anchor::Middle, Align::Top),
        );
        for (i, row) in self.rows.iter().enumerate() {
            #[allow(clippy::cast_precision_loss)] // a row per group
            let y = plot.top + (i as f64 + 0.5) * ROW;
            self.draw_row(&mut canvas, &plot, row, y);
        }
        canvas.finish()
    }

    /// Where a row's value and its study text start, and where the last of them ends: the
    /// value right after the row's marks, unless the study's cross is there (then after the
    /// cross); the study text after the cross and after the value.
    fn texts_at(&self, plot: &Plot, row: &Row) -> (f64, f64, f64) {
        let x = |v: f64| plot.x(&self.scale, v);
        let mut end = plot.left;
        if let Some(bar) = row.bar.filter(|v| self.scale.shows(*v)) {
            end = end.max(x(bar));
        }
        for &(v, _) in &row.dots {
            end = end.max(x(v) + 6.0);
        }
        if let Some((_, max)) = row.spread {
            end = end.max(x(max) + 2.0);
        }
        let value_width = text_width(&row.value, LABEL_SIZE);
        let mut value_at = end + VALUE_GAP;
        let Some(study) = row.study.map(x) else {
            return (value_at, value_at, value_at + value_width);
        };
        if study + 8.0 > value_at - 2.0 && study - 8.0 < value_at + value_width + 2.0 {
            value_at = study + 8.0 + VALUE_GAP;
        }
        let study_at = (study + 8.0).max(value_at + value_width) + VALUE_GAP;
        let study_width = row
            .study_text
            .as_ref()
            .map_or(0.0, |t| text_width(t, LABEL_SIZE));
        (value_at, study_at, study_at + study_width)
    }

    fn draw_row(&self, canvas: &mut Canvas, plot: &Plot, row: &Row, y: f64) {
        let x = |v: f64| plot.x(&self.scale, v);
        canvas.text(
            &Text::new(row.label.clone(), plot.left - 12.0, y, LABEL_SIZE)
                .aligned(Anchor::End, Align::Middle),
        );
        if let Some(bar) = row.bar.filter(|v| self.scale.shows(*v) && *v > 0.0) {
            let opacity = format!("opacity=\"{BAR_OPACITY}\"");
            let b = PixelBox::at(plot.left, y - 9.0, x(bar) - plot.left, 18.0);
            canvas.rect(b, Some(row.colour), None, &opacity);
        }
        if let Some((min, max)) = row.spread {
            canvas.line((x(min), y), (x(max), y), Colour::BLACK, 2.0);
            for end in [min, max] {
                canvas.line((x(end), y - 6.0), (x(end), y + 6.0), Colour::BLACK, 2.0);
            }
        }
        let dots: Vec<(f64, f64)> = row.dots.iter().map(|&(v, _)| (x(v), y)).collect();
        canvas.polyline(&dots, Colour::GREY, 1.5);
        for (&(v, filled), _) in row.dots.iter().zip(&dots) {
            canvas.circle((x(v), y), 5.0, row.colour, filled);
        }
        if let Some(study) = row.study {
            canvas.cross((x(study), y), 6.0, Colour::STUDY, 2.5);
        }
        let (value_at, study_at, _) = self.texts_at(plot, row);
        canvas.text(&Text::new(row.value.clone(), value_at, y, LABEL_SIZE));
        if let Some(study) = &row.study_text {
            let t = Text::new(study.clone(), study_at, y, LABEL_SIZE);
            canvas.text(&t.coloured(Colour::STUDY));
        }
    }
}

/// The legend entries naming each implementation's colour, as `swatch` shows it.
fn series_legend(names: &[&str], swatch: impl Fn(Colour) -> Swatch) -> Vec<Entry> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| Entry::new(swatch(colour(i)), *name))
        .collect()
}

/// The colour of a group: its implementation's.
fn colour_of(names: &[&str], g: &GroupReport) -> Colour {
    colour(
        names
            .iter()
            .position(|s| *s == g.implementation)
            .unwrap_or(0),
    )
}

/// The study's figure beside a group, if it is matched to one (the study's workload only).
fn study_of<T>(
    report: &Report,
    g: &GroupReport,
    figure: impl Fn(&crate::StudyComparison) -> Option<T>,
) -> Option<T> {
    report
        .study
        .iter()
        .find(|c| c.label.as_deref() == Some(g.label.as_str()))
        .and_then(figure)
}

/// `wall_time.svg`.
pub(super) fn wall_time(report: &Report) -> String {
    let title = Chart::WallTime.title();
    if report.groups.is_empty() {
        return no_data(&title, "No epoch finished with status ok.");
    }
    let names = implementations(&report.groups);
    let rows: Vec<Row> = report
        .groups
        .iter()
        .filter_map(|g| {
            let wall = g.wall_s?;
            let study = study_of(report, g, |c| c.study_wall_s);
            Some(Row {
                label: g.label.clone(),
                colour: colour_of(&names, g),
                bar: Some(wall.median),
                dots: Vec::new(),
                spread: (wall.count > 1).then_some((wall.min, wall.max)),
                study,
                value: format!("{} s", number(wall.median)),
                study_text: study.map(|s| format!("study {} s", number(s))),
            })
        })
        .collect();
    if rows.is_empty() {
        return no_data(&title, "No whole epoch finished with status ok.");
    }
    let mut legend = series_legend(&names, Swatch::Bar);
    if rows.iter().any(|r| r.study.is_some()) {
        legend.push(Entry::new(Swatch::Cross(Colour::STUDY), "study (2023)"));
    }
    let values = rows.iter().flat_map(|r| {
        let (min, max) = r.spread.unwrap_or((f64::NAN, f64::NAN));
        [
            r.bar.unwrap_or(f64::NAN),
            min,
            max,
            r.study.unwrap_or(f64::NAN),
        ]
    });
    Rows {
        title,
        x_desc: "wall time per epoch, s (lower is faster)".to_string(),
        legend,
        scale: Scale::of(values),
        rows,
    }
    .draw()
}

/// `cost_per_run.svg`: free runs (0) are never put on a log axis: they get no bar and the
/// word `free`.
pub(super) fn cost_per_run(report: &Report) -> String {
    let title = Chart::CostPerRun.title();
    let groups: Vec<&GroupReport> = report
        .groups
        .iter()
        .filter(|g| g.cost_per_run.is_some())
        .collect();
    if groups.is_empty() {
        return no_data(&title, "No complete run (every epoch ok) to cost.");
    }
    let currency = report.single_currency();
    let names = implementations(&report.groups);
    let rows: Vec<Row> = groups
        .iter()
        .filter_map(|g| {
            let stats = g.cost_per_run?;
            let label = match currency {
                Some(_) => g.label.clone(),
                None => format!("{} ({})", g.label, g.currency),
            };
            let value = if stats.max <= 0.0 {
                format!("free (0 {})", g.currency)
            } else {
                format!("{} {}", number(stats.median), g.currency)
            };
            Some(Row {
                label,
                colour: colour_of(&names, g),
                bar: Some(stats.median),
                dots: Vec::new(),
                spread: (stats.count > 1 && stats.min > 0.0).then_some((stats.min, stats.max)),
                study: None,
                value,
                study_text: None,
            })
        })
        .collect();
    let scale = Scale::of(rows.iter().flat_map(|r| {
        let (min, max) = r.spread.unwrap_or((f64::NAN, f64::NAN));
        [r.bar.unwrap_or(f64::NAN), min, max]
    }));
    let free = if rows.iter().any(|r| r.bar.is_some_and(|v| v <= 0.0)) {
        "; free runs: no bar"
    } else {
        ""
    };
    let x_desc = match currency {
        Some(currency) => format!("cost per run, {currency} (lower is cheaper{free})"),
        None => format!("cost per run, in each bar's currency (lower is cheaper{free})"),
    };
    Rows {
        title,
        x_desc,
        legend: series_legend(&names, Swatch::Bar),
        scale,
        rows,
    }
    .draw()
}

/// `accuracy.svg`: a row per group, a dot per epoch (the last one filled, with the runs'
/// spread), the study's figure beside the groups of its workload.
pub(super) fn accuracy(report: &Report) -> String {
    let title = Chart::AccuracyPerEpoch.title();
    let names = implementations(&report.groups);
    let rows: Vec<Row> = report
        .groups
        .iter()
        .filter_map(|g| {
            let epochs: Vec<(u32, f64)> = g
                .epochs
                .iter()
                .filter_map(|e| Some((e.epoch, e.test_accuracy? * 100.0)))
                .collect();
            let &(last_epoch, last) = epochs.last()?;
            let spread = g
                .epochs
                .iter()
                .rev()
                .find_map(|e| e.test_accuracy_spread)
                .filter(|s| s.count > 1)
                .map(|s| (s.min * 100.0, s.max * 100.0));
            let study = study_of(report, g, |c| c.study_accuracy);
            let count = epochs.len();
            Some(Row {
                label: g.label.clone(),
                colour: colour_of(&names, g),
                bar: None,
                dots: epochs
                    .iter()
                    .enumerate()
                    .map(|(i, &(_, a))| (a, i + 1 == count))
                    .collect(),
                spread,
                study: study.map(|s| s * 100.0),
                value: format!("{} (epoch {last_epoch})", percent(last / 100.0)),
                study_text: study.map(|s| format!("study {}", percent(s))),
            })
        })
        .collect();
    if rows.is_empty() {
        return no_data(&title, "No test accuracy recorded.");
    }
    let values = rows.iter().flat_map(|r| {
        let (min, max) = r.spread.unwrap_or((f64::NAN, f64::NAN));
        let dots = r.dots.iter().map(|d| d.0);
        dots.chain([min, max, r.study.unwrap_or(f64::NAN)])
    });
    let finite = values.filter(|v| v.is_finite());
    let low = finite.clone().fold(100.0, f64::min);
    let high = finite.fold(0.0, f64::max);
    let scale = Scale::linear((low - 0.5).floor().max(0.0), (high + 0.5).ceil().min(100.0));
    let mut legend = series_legend(&names, |c| Swatch::Dot(c, true));
    for entry in &mut legend {
        entry.text.push_str(", last epoch");
    }
    legend.push(Entry::new(
        Swatch::Dot(Colour::GREY, false),
        "earlier epochs",
    ));
    if rows.iter().any(|r| r.study.is_some()) {
        legend.push(Entry::new(Swatch::Cross(Colour::STUDY), "study (2023)"));
    }
    Rows {
        title,
        x_desc: "test accuracy, % (higher is better)".to_string(),
        legend,
        scale,
        rows,
    }
    .draw()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_free_run_has_no_bar_and_says_free() {
        let row = |label: &str, value: f64| Row {
            label: label.to_string(),
            colour: colour(0),
            bar: Some(value),
            dots: Vec::new(),
            spread: None,
            study: None,
            value: if value > 0.0 {
                format!("{value} RUB")
            } else {
                "free (0 RUB)".to_string()
            },
            study_text: None,
        };
        let chart = Rows {
            title: "t".to_string(),
            x_desc: "x".to_string(),
            legend: Vec::new(),
            scale: Scale::of([0.0001, 15.0, 0.0].into_iter()),
            rows: vec![row("paid", 15.0), row("cheap", 0.0001), row("colab", 0.0)],
        };
        let svg = chart.draw();
        assert_eq!(
            svg.matches(&format!("opacity=\"{BAR_OPACITY}\"")).count(),
            2,
            "{svg}"
        );
        assert!(svg.contains(">free (0 RUB)</text>"), "{svg}");
        assert!(chart.scale.log);
    }
}
