//! The charts, as SVG: one exporter per chart.
//!
//! Every chart has a title, axis descriptions with units and a legend, so it reads on its own,
//! and stays readable at any number of groups: bar and dot charts give each group a row of its
//! own, named by its label (`bar`); the time-versus-cost chart numbers its points and names
//! them in a key, drawing coinciding points once (`scatter`); the time-versus-batch charts
//! label each line at its end and draw coinciding lines once (`line`); the chart of time and
//! cost to a target accuracy is a time-versus-cost chart of its own (`target`). Labels, tick labels
//! (`scale`) and legends (`layout`) are placed by the boxes they take (`canvas`), so none
//! overlaps another or leaves the canvas; zero values are never put on a log axis. The study's
//! published figures appear beside the groups of its workload only.
//!
//! The SVG is written directly: text as `<text>` elements in a sans-serif font, no font files.

mod bar;
mod canvas;
mod layout;
mod line;
mod scale;
mod scatter;
mod target;

use std::collections::BTreeSet;

use super::{ExportError, Exporter};
use crate::report::{GroupReport, Report, percent_label};
use canvas::{Align, Anchor, Canvas, Text};
use layout::{LABEL_SIZE, MIN_WIDTH, draw_title, title_width};

/// The opacity of every bar, and of no other element in the charts: tools (and the tests) find
/// the bars as the `<rect>` elements with `opacity="0.85"`.
pub const BAR_OPACITY: f64 = 0.85;

/// Which chart an [`SvgExporter`] draws.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
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
    /// Median wall time of one epoch against batch size, log-log, one line per configuration,
    /// for one dataset and hidden layer width (`time_vs_batch_<dataset>_<hidden units>.svg`).
    TimeVersusBatch {
        /// The dataset (`mnist`).
        dataset: String,
        /// Neurons in the hidden layer, count.
        hidden_units: u32,
    },
    /// Time to a target accuracy against cost to it, scored over seeds, one numbered point
    /// per group that reached it, the fastest named (`time_to_target_<target>.svg`).
    TimeToTarget {
        /// The target as a percentage without trailing zeros (`94`, `94.5`).
        target: String,
    },
}

impl Chart {
    /// The charts every report has.
    pub const FIXED: [Chart; 4] = [
        Chart::WallTime,
        Chart::CostPerRun,
        Chart::AccuracyPerEpoch,
        Chart::TimeVersusCost,
    ];

    /// The charts of `report`: [`Chart::FIXED`], then a [`Chart::TimeVersusBatch`] per
    /// dataset and hidden layer width in its groups, then a [`Chart::TimeToTarget`] per target
    /// accuracy its groups had (none where no run had one).
    pub fn all(report: &Report) -> Vec<Chart> {
        let workloads: BTreeSet<(&str, u32)> = report
            .groups
            .iter()
            .map(|g| (g.dataset.as_str(), g.hidden_units))
            .collect();
        let mut targets: Vec<f64> = report
            .groups
            .iter()
            .filter_map(|g| Some(g.to_target.as_ref()?.target_accuracy))
            .collect();
        targets.sort_by(f64::total_cmp);
        let mut targets: Vec<String> = targets.into_iter().map(percent_label).collect();
        targets.dedup();
        Chart::FIXED
            .into_iter()
            .chain(
                workloads
                    .into_iter()
                    .map(|(dataset, hidden_units)| Chart::TimeVersusBatch {
                        dataset: dataset.to_string(),
                        hidden_units,
                    }),
            )
            .chain(
                targets
                    .into_iter()
                    .map(|target| Chart::TimeToTarget { target }),
            )
            .collect()
    }

    /// The chart's file name; a dataset's name is written with letters, digits and `-` only
    /// (`time_vs_batch_fashion-mnist_28.svg`).
    pub fn file_name(&self) -> String {
        match self {
            Chart::WallTime => "wall_time.svg".to_string(),
            Chart::CostPerRun => "cost_per_run.svg".to_string(),
            Chart::AccuracyPerEpoch => "accuracy.svg".to_string(),
            Chart::TimeVersusCost => "time_vs_cost.svg".to_string(),
            Chart::TimeVersusBatch {
                dataset,
                hidden_units,
            } => {
                let dataset: String = dataset
                    .chars()
                    .map(|c| {
                        if c.is_ascii_alphanumeric() || c == '-' {
                            c.to_ascii_lowercase()
                        } else {
                            '_'
                        }
                    })
                    .collect();
                format!("time_vs_batch_{dataset}_{hidden_units}.svg")
            }
            Chart::TimeToTarget { target } => format!("time_to_target_{target}.svg"),
        }
    }

    /// The chart's title.
    pub fn title(&self) -> String {
        match self {
            Chart::WallTime => {
                "Wall time of one training epoch (median, whiskers: min-max)".to_string()
            }
            Chart::CostPerRun => "Cost of one run (median, whiskers: min-max)".to_string(),
            Chart::AccuracyPerEpoch => {
                "Test accuracy after each epoch (median, whiskers: min-max)".to_string()
            }
            Chart::TimeVersusCost => "Time versus cost of one epoch (medians)".to_string(),
            Chart::TimeVersusBatch {
                dataset,
                hidden_units,
            } => format!(
                "Epoch time against batch size: {dataset}, {hidden_units} hidden units \
                 (median, whiskers: min-max)"
            ),
            Chart::TimeToTarget { target } => format!(
                "Time and cost to {target} % test accuracy (mean over seeds, fastest and \
                 slowest dropped)"
            ),
        }
    }
}

/// Draws one [`Chart`] as SVG.
#[derive(Debug, Clone)]
pub struct SvgExporter {
    chart: Chart,
    file_name: String,
}

impl SvgExporter {
    /// An exporter for `chart`.
    pub fn new(chart: Chart) -> Self {
        SvgExporter {
            file_name: chart.file_name(),
            chart,
        }
    }
}

impl Exporter for SvgExporter {
    fn name(&self) -> &str {
        "svg"
    }

    fn file_name(&self) -> &str {
        &self.file_name
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>, ExportError> {
        let svg = match &self.chart {
            Chart::WallTime => bar::wall_time(report),
            Chart::CostPerRun => bar::cost_per_run(report),
            Chart::AccuracyPerEpoch => bar::accuracy(report),
            Chart::TimeVersusCost => scatter::time_versus_cost(report),
            Chart::TimeVersusBatch {
                dataset,
                hidden_units,
            } => line::time_versus_batch(report, &self.chart.title(), dataset, *hidden_units),
            Chart::TimeToTarget { target } => target::time_to_target(report, target),
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
        let charts = Chart::all(&report);
        assert_eq!(charts.len(), 5);
        for chart in charts {
            let svg = SvgExporter::new(chart.clone()).render(&report).unwrap();
            let svg = String::from_utf8(svg).unwrap();
            assert!(svg.contains(&chart.title()), "{chart:?}");
            assert!(svg.contains("g2.mig / burn"), "{chart:?}");
            let bars = svg.matches(&format!("opacity=\"{BAR_OPACITY}\"")).count();
            let expected = usize::from(matches!(chart, Chart::WallTime | Chart::CostPerRun));
            assert_eq!(bars, expected, "{chart:?}");
        }
    }

    #[test]
    fn each_workload_has_its_own_time_versus_batch_chart() {
        let mut fashion = row("r2", "c1.4", "burn", 1, 10.0, 0.1, 0.8);
        fashion.dataset = "fashion-mnist".to_string();
        fashion.hidden_units = 64;
        let report = Report::build(
            &set(vec![
                row("r1", "g2.mig", "burn", 1, 93.0, 2.0, 0.91),
                fashion,
            ]),
            &[],
        );
        let names: Vec<String> = Chart::all(&report).iter().map(Chart::file_name).collect();
        assert_eq!(
            names[4..],
            [
                "time_vs_batch_fashion-mnist_64.svg",
                "time_vs_batch_mnist_28.svg"
            ]
        );
        let odd = Chart::TimeVersusBatch {
            dataset: "../x y".to_string(),
            hidden_units: 3,
        };
        assert_eq!(odd.file_name(), "time_vs_batch____x_y_3.svg");
        assert!(odd.title().contains("../x y, 3 hidden units"));
        assert_eq!(Report::build(&set(Vec::new()), &[]).groups.len(), 0);
        assert_eq!(Chart::all(&Report::default()).len(), 4);
    }
}
