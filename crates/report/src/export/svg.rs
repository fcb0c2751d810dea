//! The charts, as SVG drawn by plotters: one exporter per chart.
//!
//! Every chart has a title, axis descriptions with units and a legend, so it reads on its own.
//! Text is written as SVG `<text>` elements (plotters' SVG backend needs no font files); the
//! viewer picks a sans-serif font.

use std::collections::BTreeSet;
use std::error::Error;

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::markdown::number;
use super::{ExportError, Exporter};
use crate::report::{GroupReport, Report, Stats};

/// The opacity of every bar, and of no other `<rect>` in the charts: tools (and the tests) find
/// the bars as the `<rect>` elements with `opacity="0.85"`.
pub const BAR_OPACITY: f64 = 0.85;

/// Which chart an [`SvgExporter`] draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chart {
    /// Median wall time per epoch, one horizontal bar per group, min-max whiskers, the study's
    /// figure as a cross (`wall_time.svg`).
    WallTime,
    /// Median cost per complete run, one bar per group with a complete run, min-max whiskers
    /// (`cost_per_run.svg`).
    CostPerRun,
    /// Median test accuracy after each epoch, one line per group (`accuracy.svg`).
    AccuracyPerEpoch,
    /// Median wall time against median cost of one epoch, one labelled point per group
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
            Chart::AccuracyPerEpoch => "Test accuracy after each epoch (median)",
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
        let mut svg = String::new();
        let size = match self.chart {
            Chart::WallTime => bar_chart_size(report.groups.len()),
            Chart::CostPerRun => bar_chart_size(
                report
                    .groups
                    .iter()
                    .filter(|g| g.cost_per_run.is_some())
                    .count(),
            ),
            Chart::AccuracyPerEpoch => (WIDTH, 600),
            Chart::TimeVersusCost => time_versus_cost_size(report.groups.len()),
        };
        {
            let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
            let drawn = root
                .fill(&WHITE)
                .map_err(Into::into)
                .and_then(|()| match self.chart {
                    Chart::WallTime => wall_time(&root, report),
                    Chart::CostPerRun => cost_per_run(&root, report),
                    Chart::AccuracyPerEpoch => accuracy(&root, report),
                    Chart::TimeVersusCost => time_versus_cost(&root, report),
                });
            drawn
                .and_then(|()| root.present().map_err(Into::into))
                .map_err(|e| ExportError::Chart {
                    file: self.file_name().to_string(),
                    message: e.to_string(),
                })?;
        }
        Ok(svg.into_bytes())
    }
}

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type DrawResult = Result<(), Box<dyn Error>>;

const WIDTH: u32 = 1000;
const FONT: &str = "sans-serif";

/// Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(240, 228, 66),
    RGBColor(0, 0, 0),
];

fn colour(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// An axis tick: three significant digits without trailing zeros (`20`, `0.5`, `125`).
fn tick(value: f64) -> String {
    let text = number(value);
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Pixel size of a horizontal bar chart with `bars` bars.
fn bar_chart_size(bars: usize) -> (u32, u32) {
    let bars = u32::try_from(bars).unwrap_or(u32::MAX).max(1);
    (
        WIDTH,
        160_u32.saturating_add(bars.saturating_mul(44)).max(320),
    )
}

/// Space for axis labels of `longest` characters, in pixels.
fn label_width(longest: usize) -> u32 {
    u32::try_from(longest * 7 + 24)
        .unwrap_or(u32::MAX)
        .clamp(60, 460)
}

/// How values map onto an axis: linearly from 0, or by their logarithm when they span more
/// than [`LOG_SPAN`] times (0.2 s beside 150 s would leave most bars invisible). Positions are
/// in axis units: the value, or its base-10 logarithm.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Scale {
    log: bool,
    /// The axis' ends, in axis units.
    lo: f64,
    hi: f64,
}

/// The ratio of the largest to the smallest value above which an axis is logarithmic.
const LOG_SPAN: f64 = 20.0;

impl Scale {
    /// A scale for positive `values`, with `headroom` (a factor) above the largest.
    fn of(values: impl Iterator<Item = f64> + Clone, headroom: f64) -> Scale {
        let positive = values.filter(|v| v.is_finite() && *v > 0.0);
        let max = positive.clone().fold(0.0, f64::max);
        let min = positive.fold(f64::INFINITY, f64::min);
        if max <= 0.0 {
            return Scale {
                log: false,
                lo: 0.0,
                hi: 1.0,
            };
        }
        if max / min > LOG_SPAN {
            Scale {
                log: true,
                lo: min.log10().floor(),
                // A log axis needs more room above the largest value for the same space.
                hi: (max * headroom * headroom).log10(),
            }
        } else {
            Scale {
                log: false,
                lo: 0.0,
                hi: max * headroom,
            }
        }
    }

    /// Where `value` sits on the axis.
    fn at(&self, value: f64) -> f64 {
        if self.log {
            value.max(10f64.powf(self.lo)).log10()
        } else {
            value
        }
    }

    /// The axis' values to label on a log scale: 1, 2 and 5 times the powers of ten in range.
    fn log_ticks(&self) -> Vec<f64> {
        let mut ticks = Vec::new();
        #[allow(clippy::cast_possible_truncation)] // decades of times and costs: a handful
        for decade in (self.lo.floor() as i32)..=(self.hi.ceil() as i32) {
            for step in [1.0, 2.0, 5.0] {
                let value = step * 10f64.powi(decade);
                let at = value.log10();
                if at >= self.lo - 1e-9 && at <= self.hi + 1e-9 {
                    ticks.push(value);
                }
            }
        }
        ticks
    }

    /// ` (log scale)` for a logarithmic axis' description.
    fn note(&self) -> &'static str {
        if self.log { " (log scale)" } else { "" }
    }
}

/// Draws a log scale's ticks, labels and grid lines along the x axis (`vertical`: false) or
/// the y axis (true) of `chart`, from `across.0` to `across.1` in the other axis' units.
fn log_axis<'a>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    scale: &Scale,
    vertical: bool,
    across: (f64, f64),
) -> DrawResult {
    let grid = RGBColor(220, 220, 220).stroke_width(1);
    let anchor = if vertical {
        Pos::new(HPos::Right, VPos::Center)
    } else {
        Pos::new(HPos::Center, VPos::Top)
    };
    let style = TextStyle::from((FONT, 14).into_font()).pos(anchor);
    for value in scale.log_ticks() {
        let at = value.log10();
        let (start, end, label_at, offset) = if vertical {
            ((across.0, at), (across.1, at), (across.0, at), (-8, 0))
        } else {
            ((at, across.0), (at, across.1), (at, across.0), (0, 8))
        };
        chart.draw_series([PathElement::new(vec![start, end], grid)])?;
        chart.draw_series([
            EmptyElement::at(label_at) + Text::new(tick(value), offset, style.clone())
        ])?;
    }
    Ok(())
}

/// The implementations in the report, sorted: index = colour of that implementation's bars.
fn implementations(groups: &[GroupReport]) -> Vec<&str> {
    let set: BTreeSet<&str> = groups.iter().map(|g| g.implementation.as_str()).collect();
    set.into_iter().collect()
}

/// Draws the title and a note in the middle when a chart has nothing to show.
fn no_data(root: &Area<'_>, title: &str, note: &str) -> DrawResult {
    let (width, height) = root.dim_in_pixel();
    let centre = |y: u32| {
        (
            i32::try_from(width / 2).unwrap_or(0),
            i32::try_from(y).unwrap_or(0),
        )
    };
    let style =
        |size| TextStyle::from((FONT, size).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
    root.draw(&Text::new(title, centre(30), style(24)))?;
    root.draw(&Text::new(note, centre(height / 2), style(18)))?;
    Ok(())
}

/// One bar of a horizontal bar chart.
struct Bar {
    label: String,
    stats: Stats,
    /// Index into the legend's series.
    series: usize,
    /// Printed at the bar's end.
    value: String,
    /// The study's figure, drawn as a cross.
    study: Option<f64>,
}

/// Horizontal bars (median) with min-max whiskers; bars top to bottom in `bars` order.
fn bar_chart(
    root: &Area<'_>,
    title: &str,
    x_desc: &str,
    series: &[&str],
    bars: &[Bar],
    study_legend: &str,
) -> DrawResult {
    let n = bars.len();
    let Some(last) = n.checked_sub(1) else {
        return no_data(root, title, "Nothing to show.");
    };
    let values = bars
        .iter()
        .flat_map(|b| [b.stats.min, b.stats.max, b.study.unwrap_or(0.0)]);
    let scale = Scale::of(values, 2.2);
    let at = |value: f64| scale.at(value);
    // Row 0 is drawn at the top, at y = last; each row spans y - 0.5 to y + 0.5.
    #[allow(clippy::cast_precision_loss)] // a handful of rows
    let centre = |i: usize| (last - i) as f64;
    #[allow(clippy::cast_precision_loss)]
    let top = last as f64 + 0.5;
    let labels: Vec<&str> = bars.iter().map(|b| b.label.as_str()).collect();
    let longest = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);

    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 22))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(label_width(longest))
        .build_cartesian_2d(scale.lo..scale.hi, -0.5..top)?;
    let x_desc = format!("{x_desc}{}", scale.note());
    let log = scale.log;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .disable_y_mesh()
        // The category labels are drawn below, at the rows' centres; a log scale's ticks too.
        .y_label_formatter(&|_| String::new())
        .set_tick_mark_size(LabelAreaPosition::Left, 0)
        .set_tick_mark_size(LabelAreaPosition::Bottom, if log { 0 } else { 5 })
        .x_label_formatter(&|x| if log { String::new() } else { tick(*x) })
        .x_desc(x_desc)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()?;
    if log {
        log_axis(&mut chart, &scale, false, (-0.5, top))?;
    }
    let base = scale.lo;

    for (index, name) in series.iter().enumerate() {
        let fill = colour(index).mix(BAR_OPACITY).filled();
        let in_series = bars.iter().enumerate().filter(|(_, b)| b.series == index);
        chart
            .draw_series(in_series.map(|(i, b)| {
                let y = centre(i);
                Rectangle::new([(base, y - 0.32), (at(b.stats.median), y + 0.32)], fill)
            }))?
            .label(*name)
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour(index).filled())
            });
    }
    let whisker = BLACK.stroke_width(2);
    let spread: Vec<(usize, &Bar)> = bars
        .iter()
        .enumerate()
        .filter(|(_, b)| b.stats.count > 1)
        .collect();
    chart.draw_series(spread.iter().map(|&(i, b)| {
        PathElement::new(
            vec![(at(b.stats.min), centre(i)), (at(b.stats.max), centre(i))],
            whisker,
        )
    }))?;
    let caps = spread
        .iter()
        .flat_map(|&(i, b)| [(at(b.stats.min), centre(i)), (at(b.stats.max), centre(i))]);
    chart.draw_series(
        caps.map(|point| {
            EmptyElement::at(point) + PathElement::new(vec![(0, -7), (0, 7)], whisker)
        }),
    )?;
    let category_style =
        TextStyle::from((FONT, 14).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
    chart.draw_series(labels.iter().enumerate().map(|(i, label)| {
        let text = Text::new(label.to_string(), (-10, 0), category_style.clone());
        EmptyElement::at((base, centre(i))) + text
    }))?;
    let value_style =
        TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Center));
    chart.draw_series(bars.iter().enumerate().map(|(i, b)| {
        let end = (at(b.stats.max.max(b.stats.median)), centre(i));
        EmptyElement::at(end) + Text::new(b.value.clone(), (14, 0), value_style.clone())
    }))?;
    chart.draw_series(bars.iter().enumerate().filter_map(|(i, b)| {
        let study = b.study?;
        let text = format!("study {}", tick(study));
        let style = value_style.clone().color(&RGBColor(200, 0, 0));
        Some(EmptyElement::at((at(study), centre(i))) + Text::new(text, (12, 0), style))
    }))?;
    let studies: Vec<(f64, f64)> = bars
        .iter()
        .enumerate()
        .filter_map(|(i, b)| b.study.map(|s| (at(s), centre(i))))
        .collect();
    if !studies.is_empty() {
        let cross = RGBColor(200, 0, 0).stroke_width(3);
        chart
            .draw_series(studies.into_iter().map(|point| Cross::new(point, 8, cross)))?
            .label(study_legend)
            .legend(move |(x, y)| Cross::new((x + 7, y), 6, cross));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE)
        .border_style(BLACK)
        .label_font((FONT, 14))
        .draw()?;
    Ok(())
}

fn wall_time(root: &Area<'_>, report: &Report) -> DrawResult {
    let title = Chart::WallTime.title();
    if report.groups.is_empty() {
        return no_data(root, title, "No epoch finished with status ok.");
    }
    let series = implementations(&report.groups);
    let bars: Vec<Bar> = report
        .groups
        .iter()
        .map(|g| Bar {
            label: g.label.clone(),
            stats: g.wall_s,
            series: series
                .iter()
                .position(|s| *s == g.implementation)
                .unwrap_or(0),
            value: format!("{} s", number(g.wall_s.median)),
            study: report
                .study
                .iter()
                .find(|c| c.label.as_deref() == Some(g.label.as_str()))
                .and_then(|c| c.study_wall_s),
        })
        .collect();
    bar_chart(
        root,
        title,
        "wall time per epoch, s (lower is faster)",
        &series,
        &bars,
        "study (2023)",
    )
}

fn cost_per_run(root: &Area<'_>, report: &Report) -> DrawResult {
    let title = Chart::CostPerRun.title();
    let groups: Vec<&GroupReport> = report
        .groups
        .iter()
        .filter(|g| g.cost_per_run.is_some())
        .collect();
    if groups.is_empty() {
        return no_data(root, title, "No complete run (every epoch ok) to cost.");
    }
    let currency = report.single_currency();
    let series = implementations(&report.groups);
    let bars: Vec<Bar> = groups
        .iter()
        .filter_map(|g| {
            let stats = g.cost_per_run?;
            let label = match currency {
                Some(_) => g.label.clone(),
                None => format!("{} ({})", g.label, g.currency),
            };
            Some(Bar {
                label,
                stats,
                series: series
                    .iter()
                    .position(|s| *s == g.implementation)
                    .unwrap_or(0),
                value: format!("{} {}", number(stats.median), g.currency),
                study: None,
            })
        })
        .collect();
    let x_desc = match currency {
        Some(currency) => format!("cost per run, {currency} (lower is cheaper)"),
        None => "cost per run, in each bar's currency (lower is cheaper)".to_string(),
    };
    bar_chart(root, title, &x_desc, &series, &bars, "")
}

fn accuracy(root: &Area<'_>, report: &Report) -> DrawResult {
    let title = Chart::AccuracyPerEpoch.title();
    let lines: Vec<(&GroupReport, Vec<(u32, f64)>)> = report
        .groups
        .iter()
        .map(|g| {
            let points = g
                .epochs
                .iter()
                .filter_map(|e| Some((e.epoch, e.test_accuracy? * 100.0)));
            (g, points.collect::<Vec<_>>())
        })
        .filter(|(_, points)| !points.is_empty())
        .collect();
    if lines.is_empty() {
        return no_data(root, title, "No test accuracy recorded.");
    }
    let all = || lines.iter().flat_map(|(_, points)| points.iter());
    let last_epoch = all().map(|p| p.0).max().unwrap_or(1);
    let low = all().map(|p| p.1).fold(100.0, f64::min);
    let high = all().map(|p| p.1).fold(0.0, f64::max);
    let (low, high) = ((low - 1.0).floor().max(0.0), (high + 1.0).ceil().min(100.0));

    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT, 22))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d((1..last_epoch).into_segmented(), low..high)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_labels(usize::try_from(last_epoch).unwrap_or(usize::MAX))
        .y_label_formatter(&|y| format!("{y:.1}"))
        .x_desc("epoch")
        .y_desc("test accuracy, % (higher is better)")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()?;
    for (index, (group, points)) in lines.iter().enumerate() {
        let style = colour(index).stroke_width(3);
        let points: Vec<(SegmentValue<u32>, f64)> = points
            .iter()
            .map(|&(epoch, accuracy)| (SegmentValue::CenterOf(epoch), accuracy))
            .collect();
        chart
            .draw_series(LineSeries::new(points.iter().cloned(), style))?
            .label(group.label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 5, colour(index).filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE)
        .border_style(BLACK)
        .label_font((FONT, 14))
        .draw()?;
    Ok(())
}

/// Pixel height of the time-versus-cost chart: the plot, and a line of its key per group.
fn time_versus_cost_size(groups: usize) -> (u32, u32) {
    let groups = u32::try_from(groups).unwrap_or(u32::MAX);
    (WIDTH, 560_u32.saturating_add(groups.saturating_mul(20)))
}

/// The study's time and cost of one epoch beside a group's: the study's wall time, priced at
/// the group's tariff (its cost per second of epoch).
fn study_point(report: &Report, g: &GroupReport) -> Option<(f64, f64)> {
    let study = report
        .study
        .iter()
        .find(|c| c.label.as_deref() == Some(g.label.as_str()))?
        .study_wall_s?;
    let per_second = g.cost_per_1000_epochs / 1000.0 / g.wall_s.median;
    per_second
        .is_finite()
        .then_some((study, study * per_second))
}

/// Boxes (pixels) a label may not overlap: `x0, y0, x1, y1`.
type PixelBox = (i32, i32, i32, i32);

fn overlaps(a: PixelBox, b: PixelBox) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Where to put a label of `size` pixels next to a point at `at`: the first of eight places
/// around it, at two distances, that overlaps no box in `taken` (then taken too).
fn place_label(at: (i32, i32), size: (i32, i32), taken: &mut Vec<PixelBox>) -> (i32, i32) {
    let (w, h) = size;
    let mut choice = (at.0 + 9, at.1 - h / 2);
    'search: for distance in [9, 24] {
        for (dx, dy) in [
            (1, 0),
            (-1, 0),
            (0, -1),
            (0, 1),
            (1, -1),
            (-1, -1),
            (1, 1),
            (-1, 1),
        ] {
            let x = match dx {
                1 => at.0 + distance,
                -1 => at.0 - distance - w,
                _ => at.0 - w / 2,
            };
            let y = match dy {
                1 => at.1 + distance,
                -1 => at.1 - distance - h,
                _ => at.1 - h / 2,
            };
            let candidate = (x, y, x + w, y + h);
            if !taken.iter().any(|&t| overlaps(t, candidate)) {
                choice = (x, y);
                break 'search;
            }
        }
    }
    taken.push((choice.0, choice.1, choice.0 + w, choice.1 + h));
    choice
}

fn time_versus_cost(root: &Area<'_>, report: &Report) -> DrawResult {
    let title = Chart::TimeVersusCost.title();
    if report.groups.is_empty() {
        return no_data(root, title, "No epoch finished with status ok.");
    }
    let currency = report.single_currency();
    let series = implementations(&report.groups);
    let points: Vec<(f64, f64)> = report
        .groups
        .iter()
        .map(|g| (g.wall_s.median, g.cost_per_1000_epochs / 1000.0))
        .collect();
    let studies: Vec<Option<(f64, f64)>> = report
        .groups
        .iter()
        .map(|g| study_point(report, g))
        .collect();
    let all = points.iter().chain(studies.iter().flatten());
    let x = Scale::of(all.clone().map(|p| p.0), 1.3);
    let y = Scale::of(all.map(|p| p.1), 1.3);
    let y_desc = match currency {
        Some(currency) => format!("cost of one epoch, {currency}{}", y.note()),
        None => format!("cost of one epoch, in each point's currency{}", y.note()),
    };
    let key_height = i32::try_from(report.groups.len() * 20 + 20).unwrap_or(i32::MAX);
    let (_, height) = root.dim_in_pixel();
    let plot_height = u32::try_from(i64::from(height) - i64::from(key_height)).unwrap_or(height);
    let (plot, key) = root.split_vertically(plot_height);

    let mut chart = ChartBuilder::on(&plot)
        .caption(title, (FONT, 22))
        .margin(16)
        .x_label_area_size(50)
        .y_label_area_size(80)
        .build_cartesian_2d(x.lo..x.hi, y.lo..y.hi)?;
    let (x_log, y_log) = (x.log, y.log);
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .set_tick_mark_size(LabelAreaPosition::Bottom, if x_log { 0 } else { 5 })
        .set_tick_mark_size(LabelAreaPosition::Left, if y_log { 0 } else { 5 })
        .x_label_formatter(&|v| if x_log { String::new() } else { tick(*v) })
        .y_label_formatter(&|v| if y_log { String::new() } else { tick(*v) })
        .x_desc(format!(
            "wall time of one epoch, s (left is faster){}",
            x.note()
        ))
        .y_desc(y_desc)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .draw()?;
    if x.log {
        log_axis(&mut chart, &x, false, (y.lo, y.hi))?;
    }
    if y.log {
        log_axis(&mut chart, &y, true, (x.lo, x.hi))?;
    }
    let on_axes = |p: &(f64, f64)| (x.at(p.0), y.at(p.1));
    for (index, name) in series.iter().enumerate() {
        let fill = colour(index).filled();
        chart
            .draw_series(
                report
                    .groups
                    .iter()
                    .zip(&points)
                    .filter(|(g, _)| g.implementation == *name)
                    .map(|(_, p)| Circle::new(on_axes(p), 6, fill)),
            )?
            .label(*name)
            .legend(move |(x, y)| Circle::new((x + 7, y), 6, fill));
    }
    let study_style = RGBColor(200, 0, 0).stroke_width(2);
    if studies.iter().any(Option::is_some) {
        chart
            .draw_series(
                studies
                    .iter()
                    .flatten()
                    .map(|p| Cross::new(on_axes(p), 7, study_style)),
            )?
            .label("study (2023), at the same tariff")
            .legend(move |(x, y)| Cross::new((x + 7, y), 6, study_style));
    }
    // Each point is numbered, and the study's figure beside it has the same number in red; the
    // key below the chart names them. Numbers go where they overlap no other number and no
    // marker.
    let pixel = |p: &(f64, f64)| chart.backend_coord(&on_axes(p));
    let mut taken: Vec<PixelBox> = points
        .iter()
        .chain(studies.iter().flatten())
        .map(|p| {
            let (px, py) = pixel(p);
            (px - 7, py - 7, px + 7, py + 7)
        })
        .collect();
    let number_style = TextStyle::from((FONT, 13).into_font()).pos(Pos::new(HPos::Left, VPos::Top));
    let study_style_text = number_style.clone().color(&RGBColor(200, 0, 0));
    let numbered = points.iter().map(|p| (Some(p), &number_style));
    let numbered = numbered.chain(studies.iter().map(|p| (p.as_ref(), &study_style_text)));
    for (i, (p, style)) in numbered.enumerate() {
        let Some(p) = p else { continue };
        let text = (i % points.len() + 1).to_string();
        let size = (i32::try_from(text.len()).unwrap_or(3) * 8 + 2, 15);
        let at = place_label(pixel(p), size, &mut taken);
        plot.draw(&Text::new(text, at, style.clone()))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE)
        .border_style(BLACK)
        .label_font((FONT, 14))
        .draw()?;
    let key_style = TextStyle::from((FONT, 13).into_font());
    for (i, (g, p)) in report.groups.iter().zip(&points).enumerate() {
        let money = match currency {
            Some(c) => format!("{} {c}", number(p.1)),
            None => format!("{} {}", number(p.1), g.currency),
        };
        let line = format!("{}: {}, {} s, {money}", i + 1, g.label, number(p.0));
        let y = i32::try_from(i * 20 + 4).unwrap_or(i32::MAX);
        key.draw(&Text::new(line, (40, y), key_style.clone()))?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::tests::row;
    use replay_store::ResultsSet;

    #[test]
    fn ticks_drop_trailing_zeros() {
        assert_eq!(tick(20.0), "20");
        assert_eq!(tick(0.5), "0.5");
        assert_eq!(tick(120.0), "120");
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(0.0025), "0.0025");
    }

    #[test]
    fn values_spanning_more_than_twenty_times_get_a_log_axis_with_round_ticks() {
        let linear = Scale::of([1.0, 19.0].into_iter(), 1.5);
        assert!(!linear.log && linear.lo == 0.0 && linear.at(5.0) == 5.0);
        let log = Scale::of([0.2, 150.0].into_iter(), 1.5);
        assert!(log.log);
        assert_eq!(log.lo, -1.0);
        assert!((log.at(100.0) - 2.0).abs() < 1e-12);
        let ticks: Vec<String> = log.log_ticks().into_iter().map(tick).collect();
        assert_eq!(ticks[..7], ["0.1", "0.2", "0.5", "1", "2", "5", "10"]);
        assert!(ticks.contains(&"100".to_string()));
    }

    #[test]
    fn labels_are_placed_where_they_overlap_nothing_taken() {
        let mut taken = vec![(95, 95, 105, 105)];
        let mut placed = Vec::new();
        for _ in 0..12 {
            let (x, y) = place_label((100, 100), (10, 10), &mut taken);
            placed.push((x, y, x + 10, y + 10));
        }
        for (i, a) in placed.iter().enumerate() {
            assert!(!overlaps(*a, (95, 95, 105, 105)));
            for b in &placed[i + 1..] {
                assert!(!overlaps(*a, *b), "{a:?} and {b:?}");
            }
        }
    }

    #[test]
    fn a_single_epoch_and_a_single_group_still_draw() {
        let rows = vec![row("r1", "g2.mig", "burn", 1, 93.0, 2.0, 0.9127)];
        let report = Report::build(
            &ResultsSet {
                rows,
                ..ResultsSet::default()
            },
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
