//! The charts, as SVG: one exporter per chart.
//!
//! Every chart has a title, axis descriptions with units and a legend, so it reads on its own,
//! and stays readable at any number of groups: bar and dot charts give each group a row of its
//! own, named by its label (`bar`); the time-versus-cost chart numbers its points and names
//! them in a key, drawing coinciding points once (`scatter`). Labels, tick labels
//! (`scale`) and legends (`layout`) are placed by the boxes they take (`canvas`), so none
//! overlaps another or leaves the canvas; zero values are never put on a log axis. The study's
//! published figures appear beside the groups of its workload only.
//!
//! The SVG is written directly: text as `<text>` elements in a sans-serif font, no font files.

mod bar;
mod canvas;
mod layout;
mod scale;
mod scatter;

use std::collections::BTreeSet;

use super::{ExportError, Exporter};
use crate::report::{GroupReport, Report};
use canvas::{Align, Anchor, Canvas, Text};
use layout::{LABEL_SIZE, MIN_WIDTH, draw_title, title_width};

/// The opacity of every bar, and of no other element in the charts: tools (and the tests) find
/// the bars as the `<rect>` elements with `opacity="0.85"`.
pub const BAR_OPACITY: f64 = 0.85;

/// Which chart an [`SvgExporter`] draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Chart {
    /// Median wall time per epoch, one horizontal bar per group, min-max whiskers, the study's
    /// figure as a cross (`wall_time.svg`).
    WallTime,
    /// Median cost per complete run, one bar per group with a complete run, min-max whiskers;
    /// free runs marked `free` (`cost_per_run.svg`).
    CostPerRun,
    /// Median test accuracy after each epoch, one row per group: a dot per epoch, the last
    /// with the runs' spread, the study's figure as a cross (`accuracy.svg`).
    AccuracyPerEpoch,
    /// Median wall time against median cost of one epoch, one numbered point per group
    /// (`time_vs_cost.svg`).
    TimeVersusCost,
}

impl Chart {
    /// Every chart.
    pub const ALL: [Chart; 4] = [
        Chart::WallTime,
        Chart::CostPerRun,
        Chart::AccuracyPerEpoch,
        Chart::TimeVersusCost,
    ];

    /// The chart's file name.
    pub fn file_name(self) -> &'static str {
        match self {
            Chart::WallTime => "wall_time.svg",
            Chart::CostPerRun => "cost_per_run.svg",
            Chart::AccuracyPerEpoch => "accuracy.svg",
            Chart::TimeVersusCost => "time_vs_cost.svg",
        }
    }

    /// The chart's title.
    pub fn title(self) -> &'static str {
        match self {
            Chart::WallTime => "Wall time of one training epoch (median, whiskers: min-max)",
            Chart::CostPerRun => "Cost of one run (median, whiskers: min-max)",
            Chart::AccuracyPerEpoch => "Test accuracy after each epoch (median, whiskers: min-max)",
            Chart::TimeVersusCost => "Time versus cost of one epoch (medians)",
        }
    }
}

/// Draws one [`Chart`] as SVG.
#[derive(Debug, Clone, Copy)]
pub struct SvgExporter {
    chart: Chart,
}

impl SvgExporter {
    /// An exporter for `chart`.
    pub fn new(chart: Chart) -> Self {
        SvgExporter { chart }
    }
}

impl Exporter for SvgExporter {
    fn name(&self) -> &str {
        "svg"
    }

    fn file_name(&self) -> &str {
        self.chart.file_name()
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>, ExportError> {
        let svg = match self.chart {
            Chart::WallTime => bar::wall_time(report),
            Chart::CostPerRun => bar::cost_per_run(report),
            Chart::AccuracyPerEpoch => bar::accuracy(report),
            Chart::TimeVersusCost => scatter::time_versus_cost(report),
        };
        Ok(svg.into_bytes())
    }
}

/// The implementations in the report, sorted: index = colour of that implementation's marks.
fn implementations(groups: &[GroupReport]) -> Vec<&str> {
    let set: BTreeSet<&str> = groups.iter().map(|g| g.implementation.as_str()).collect();
    set.into_iter().collect()
}

/// A chart with nothing to show: its title and a note in the middle.
fn no_data(title: &str, note: &str) -> String {
    let width = MIN_WIDTH.max(title_width(title));
    let height = 240.0;
    let mut canvas = Canvas::new(width, height);
    draw_title(&mut canvas, title, width);
    let note = Text::new(note, width / 2.0, height / 2.0, LABEL_SIZE + 4.0)
        .aligned(Anchor::Middle, Align::Middle);
    canvas.text(&note);
    canvas.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::tests::{row, set};

    #[test]
    fn a_single_epoch_and_a_single_group_still_draw() {
        let report = Report::build(
            &set(vec![row("r1", "g2.mig", "burn", 1, 93.0, 2.0, 0.9127)]),
            &[],
        );
        for chart in Chart::ALL {
            let svg = SvgExporter::new(chart).render(&report).unwrap();
            let svg = String::from_utf8(svg).unwrap();
            assert!(svg.contains(chart.title()), "{chart:?}");
            assert!(svg.contains("g2.mig / burn"), "{chart:?}");
            let bars = svg.matches(&format!("opacity=\"{BAR_OPACITY}\"")).count();
            let expected = usize::from(matches!(chart, Chart::WallTime | Chart::CostPerRun));
            assert_eq!(bars, expected, "{chart:?}");
        }
    }
}
