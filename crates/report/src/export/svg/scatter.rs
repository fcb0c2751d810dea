//! Scatter charts of time against cost ([`Scatter`]): one numbered point per group, the
//! study's figure beside the groups of its workload, and a key below naming the numbers.
//! Points that coincide are drawn once and numbered together; numbers go where they overlap
//! no other number and no mark; free points (0) sit in a strip of their own below a log axis.
//! Groups that did not learn are hollow. The time-versus-cost chart is drawn here; the chart
//! of time and cost to a target accuracy is built on the same [`Scatter`] (`target`).

use super::canvas::{
    Align, Anchor, Canvas, Colour, PixelBox, Text, colour, text_height, text_width,
};
use super::layout::{
    AXIS_SIZE, Entry, Legend, MARGIN, MIN_WIDTH, Placer, Swatch, below_title, draw_title,
    title_width,
};
use super::scale::{Plot, Scale, TICK_SIZE, y_tick_width};
use super::{Chart, implementations, no_data};
use crate::export::markdown::number;
use crate::report::{GroupReport, LEARNED_WITHIN_POINTS, Report};

/// Least height of the plot (positive costs), in pixels.
const PLOT_HEIGHT: f64 = 420.0;
/// Height of the strip of free epochs, in pixels.
const FREE_HEIGHT: f64 = 36.0;
/// Font size of the point numbers and the key.
const NUMBER_SIZE: f64 = 12.0;
/// Points closer than this, in pixels, are drawn as one.
const COINCIDE: f64 = 4.0;
/// At most this many numbers on one line of a label.
const NUMBERS_PER_LINE: usize = 8;

/// The study's time and cost of one epoch beside a group's: the study's wall time, priced at
/// the group's tariff (its cost per second of epoch).
fn study_point(report: &Report, g: &GroupReport) -> Option<(f64, f64)> {
    let study = report
        .study
        .iter()
        .find(|c| c.label.as_deref() == Some(g.label.as_str()))?
        .study_wall_s?;
    let per_second = g.cost_per_1000_epochs? / 1000.0 / g.wall_s?.median;
    per_second
        .is_finite()
        .then_some((study, study * per_second))
}

/// How a point is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Style {
    /// Its colour (its implementation's).
    pub colour: Colour,
    /// Filled, or hollow (a group that did not learn).
    pub filled: bool,
    /// A square rather than a circle.
    pub square: bool,
}

/// A mark and the numbers of the points it stands for, with a caption for any of them.
struct Mark {
    at: (f64, f64),
    style: Style,
    numbers: Vec<usize>,
    captions: Vec<String>,
}

/// A point in pixels, its style, its number and its caption, if any.
type Placed = ((f64, f64), Style, usize, Option<String>);

/// Merges points of one style closer than [`COINCIDE`] pixels into one mark each.
fn marks(points: &[Placed]) -> Vec<Mark> {
    let mut marks: Vec<Mark> = Vec::new();
    for (at, style, number, caption) in points {
        let near = marks
            .iter_mut()
            .find(|m| m.style == *style && (m.at.0 - at.0).hypot(m.at.1 - at.1) < COINCIDE);
        let mark = match near {
            Some(mark) => mark,
            None => {
                marks.push(Mark {
                    at: *at,
                    style: *style,
                    numbers: Vec::new(),
                    captions: Vec::new(),
                });
                let last = marks.len() - 1;
                &mut marks[last]
            }
        };
        mark.numbers.push(*number);
        mark.captions.extend(caption.clone());
    }
    marks
}

/// One point of a [`Scatter`]: a group.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Point {
    /// Its time (x) and cost (y).
    pub at: (f64, f64),
    /// How it is drawn.
    pub style: Style,
    /// Its line in the key, after its number (`c1.4 / burn, 0.271 s, 0.00130 RUB`).
    pub key: String,
    /// Written beside the point after its number (`fastest: c1.4 / burn`), where wanted.
    pub caption: Option<String>,
    /// The study's figure beside it (a red cross with the same number), if any.
    pub study: Option<(f64, f64)>,
}

/// A chart of points of time against cost, numbered and named in a key.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Scatter {
    /// The title.
    pub title: String,
    /// What the x axis shows, with its unit (the scale's note is added).
    pub x_desc: String,
    /// What the y axis shows, with its unit (the scale's note is added).
    pub y_desc: String,
    /// The legend's entries.
    pub legend: Vec<Entry>,
    /// The points, numbered from 1 in this order.
    pub points: Vec<Point>,
    /// Lines after the key (groups with no point, and why).
    pub notes: Vec<String>,
}

/// The colour of a group: its implementation's among `names`.
pub(super) fn colour_of(names: &[&str], g: &GroupReport) -> Colour {
    colour(
        names
            .iter()
            .position(|s| *s == g.implementation)
            .unwrap_or(0),
    )
}

/// The legend entry of hollow points, where any point is hollow.
pub(super) fn hollow_entry(points: &[Point]) -> Option<Entry> {
    points
        .iter()
        .any(|p| !p.style.filled)
        .then(did_not_learn_entry)
}

/// The legend entry of the hollow marks of groups that did not learn.
pub(super) fn did_not_learn_entry() -> Entry {
    Entry::new(
        Swatch::Dot(Colour::GREY, false),
        format!(
            "hollow: did not learn (accuracy over {LEARNED_WITHIN_POINTS} points below its \
             workload's best)"
        ),
    )
}

/// A mark's numbers as lines of text (`3, 5, 7`).
fn number_lines(numbers: &[usize]) -> Vec<String> {
    numbers
        .chunks(NUMBERS_PER_LINE)
        .map(|chunk| {
            chunk
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect()
}

/// `time_vs_cost.svg`.
pub(super) fn time_versus_cost(report: &Report) -> String {
    let title = Chart::TimeVersusCost.title();
    let currency = report.single_currency();
    let names = implementations(&report.groups);
    let points: Vec<Point> = report
        .groups
        .iter()
        .filter_map(|g| {
            let wall = g.wall_s?.median;
            let cost = g.cost_per_1000_epochs? / 1000.0;
            let money = match currency {
                Some(c) if cost > 0.0 => format!("{} {c}", number(cost)),
                Some(c) => format!("free (0 {c})"),
                None => format!("{} {}", number(cost), g.currency),
            };
            let learned = if g.did_not_learn() {
                ", did not learn"
            } else {
                ""
            };
            Some(Point {
                at: (wall, cost),
                style: Style {
                    colour: colour_of(&names, g),
                    filled: !g.did_not_learn(),
                    square: false,
                },
                key: format!("{}, {} s, {money}{learned}", g.label, number(wall)),
                caption: None,
                study: study_point(report, g),
            })
        })
        .collect();
    if points.is_empty() {
        let note = if report.groups.is_empty() {
            "No epoch finished with status ok."
        } else {
            "No whole epoch finished with status ok."
        };
        return no_data(&title, note);
    }
    let mut legend: Vec<Entry> = names
        .iter()
        .enumerate()
        .map(|(i, name)| Entry::new(Swatch::Dot(colour(i), true), *name))
        .collect();
    legend.extend(hollow_entry(&points));
    if points.iter().any(|p| p.study.is_some()) {
        legend.push(Entry::new(
            Swatch::Cross(Colour::STUDY),
            "study (2023), at the same tariff (same number)",
        ));
    }
    let y_desc = match currency {
        Some(currency) => format!("cost of one epoch, {currency}"),
        None => "cost of one epoch, in each point's currency".to_string(),
    };
    Scatter {
        title,
        x_desc: "wall time of one epoch, s (left is faster)".to_string(),
        y_desc,
        legend,
        points,
        notes: Vec::new(),
    }
    .draw()
}

impl Scatter {
    /// Draws the chart.
    pub fn draw(&self) -> String {
        let title = &self.title;
        let all = self
            .points
            .iter()
            .map(|p| p.at)
            .chain(self.points.iter().filter_map(|p| p.study));
        let x = Scale::of(all.clone().map(|p| p.0));
        let y = Scale::of(all.clone().map(|p| p.1));
        let free_strip = y.log && all.clone().any(|p| !y.shows(p.1));
        let key: Vec<String> = self
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{}: {}", i + 1, p.key))
            .chain(self.notes.iter().cloned())
            .collect();

        let y_desc = format!("{}{}", self.y_desc, y.note());
        let x_desc = format!("{}{}", self.x_desc, x.note());
        let key_width = key
            .iter()
            .map(|line| text_width(line, NUMBER_SIZE))
            .fold(0.0, f64::max);
        let width = [
            MIN_WIDTH,
            title_width(title),
            key_width + 2.0 * MARGIN + 24.0,
            text_width(&x_desc, AXIS_SIZE) + 2.0 * MARGIN + 200.0,
        ]
        .into_iter()
        .fold(0.0, f64::max);
        let legend = Legend::layout(self.legend.clone(), width - 2.0 * MARGIN);
        let width = width.max(legend.width + 2.0 * MARGIN);
        let legend_top = below_title();
        let top = legend_top + legend.height + 18.0;
        let strip = if free_strip { FREE_HEIGHT } else { 0.0 };
        // Tall enough for the turned description of the y axis beside it.
        let plot_height = PLOT_HEIGHT.max(text_width(&y_desc, AXIS_SIZE) + 20.0 - strip);
        let y_labels = y_tick_width(&y, plot_height).max(if free_strip {
            text_width("free", TICK_SIZE)
        } else {
            0.0
        });
        let left = MARGIN + text_height(AXIS_SIZE) + 12.0 + y_labels + 7.0;
        let area = Plot {
            left,
            top,
            right: width - MARGIN - 50.0,
            bottom: top + plot_height,
        };
        let frame = Plot {
            bottom: area.bottom + strip,
            ..area
        };
        let desc_top = frame.bottom + 8.0 + text_height(TICK_SIZE) + 10.0;
        let key_top = desc_top + text_height(AXIS_SIZE) + 16.0;
        let line = text_height(NUMBER_SIZE) + 4.0;
        #[allow(clippy::cast_precision_loss)] // a line per group
        let height = key_top + key.len() as f64 * line + MARGIN;

        let mut canvas = Canvas::new(width, height);
        draw_title(&mut canvas, title, width);
        legend.draw(&mut canvas, (width - legend.width) / 2.0, legend_top);
        frame.x_ticks(&mut canvas, &x);
        area.y_ticks(&mut canvas, &y);
        frame.frame(&mut canvas);
        let strip_y = area.bottom + FREE_HEIGHT / 2.0;
        if free_strip {
            canvas.line(
                (frame.left, area.bottom),
                (frame.right, area.bottom),
                Colour::GREY,
                1.0,
            );
            canvas.text(
                &Text::new("free", frame.left - 7.0, strip_y, TICK_SIZE)
                    .aligned(Anchor::End, Align::Middle),
            );
        }
        canvas.text(
            &Text::new(
                x_desc,
                (frame.left + frame.right) / 2.0,
                desc_top,
                AXIS_SIZE,
            )
            .aligned(Anchor::Middle, Align::Top),
        );
        canvas.text(
            &Text::new(y_desc, MARGIN, (frame.top + frame.bottom) / 2.0, AXIS_SIZE)
                .aligned(Anchor::Middle, Align::Top)
                .upwards(),
        );

        let pixel = |p: &(f64, f64)| {
            let py = if y.shows(p.1) {
                area.y(&y, p.1)
            } else {
                strip_y
            };
            (area.x(&x, p.0), py)
        };
        let replay: Vec<_> = self
            .points
            .iter()
            .enumerate()
            .map(|(i, p)| (pixel(&p.at), p.style, i + 1, p.caption.clone()))
            .collect();
        let study_style = Style {
            colour: Colour::STUDY,
            filled: true,
            square: false,
        };
        let study: Vec<_> = self
            .points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Some((pixel(p.study.as_ref()?), study_style, i + 1, None)))
            .collect();
        let (replay, study) = (marks(&replay), marks(&study));
        let bounds = PixelBox {
            x0: frame.left + 2.0,
            y0: frame.top,
            x1: width - MARGIN,
            y1: frame.bottom - 2.0,
        };
        let mut placer = Placer::new(bounds);
        for mark in &replay {
            let Style {
                colour,
                filled,
                square,
            } = mark.style;
            if square {
                let fill = if filled { colour } else { Colour::WHITE };
                let b = PixelBox::around(mark.at.0, mark.at.1, 5.5);
                canvas.rect(b, Some(fill), Some((colour, 2.0)), "");
            } else {
                canvas.circle(mark.at, 6.0, colour, filled);
            }
            placer.take(PixelBox::around(mark.at.0, mark.at.1, 7.0));
        }
        for mark in &study {
            canvas.cross(mark.at, 7.0, Colour::STUDY, 2.0);
            placer.take(PixelBox::around(mark.at.0, mark.at.1, 8.0));
        }
        let mut unlabelled = Vec::new();
        for mark in replay.iter().chain(&study) {
            let mut lines = number_lines(&mark.numbers);
            lines.extend(mark.captions.iter().cloned());
            let w = lines
                .iter()
                .map(|l| text_width(l, NUMBER_SIZE))
                .fold(0.0, f64::max);
            #[allow(clippy::cast_precision_loss)] // a few lines
            let h = lines.len() as f64 * text_height(NUMBER_SIZE);
            let Some((b, far)) = placer.place_near(mark.at, w, h, 7.0) else {
                unlabelled.extend(mark.numbers.iter().copied());
                continue;
            };
            if far {
                let to = (mark.at.0.clamp(b.x0, b.x1), mark.at.1.clamp(b.y0, b.y1));
                canvas.leader(mark.at, to);
            }
            for (i, text) in lines.into_iter().enumerate() {
                #[allow(clippy::cast_precision_loss)] // a few lines
                let top = b.y0 + i as f64 * text_height(NUMBER_SIZE);
                let t = Text::new(text, b.x0, top, NUMBER_SIZE).aligned(Anchor::Start, Align::Top);
                canvas.text(&t.coloured(mark.style.colour));
            }
        }
        for (i, text) in key.into_iter().enumerate() {
            let crowded = if unlabelled.contains(&(i + 1)) {
                " (not numbered on the chart: no room)"
            } else {
                ""
            };
            #[allow(clippy::cast_precision_loss)] // a line per group
            let top = key_top + i as f64 * line;
            canvas.text(
                &Text::new(format!("{text}{crowded}"), MARGIN + 24.0, top, NUMBER_SIZE)
                    .aligned(Anchor::Start, Align::Top),
            );
        }
        canvas.finish()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn coinciding_points_become_one_mark_numbered_together() {
        let style = |colour, filled| Style {
            colour,
            filled,
            square: false,
        };
        let blue = style(colour(0), true);
        let points = [
            ((10.0, 10.0), blue, 1, None),
            ((11.0, 10.5), blue, 2, Some("fastest".to_string())),
            ((40.0, 10.0), blue, 3, None),
            ((10.0, 10.0), style(colour(1), true), 4, None),
            ((10.0, 10.0), style(colour(0), false), 5, None),
        ];
        let marks = marks(&points);
        assert_eq!(marks.len(), 4, "hollow and filled stay apart");
        assert_eq!(marks[0].numbers, [1, 2]);
        assert_eq!(marks[0].captions, ["fastest"]);
        let many: Vec<usize> = (1..=10).collect();
        assert_eq!(number_lines(&many), ["1, 2, 3, 4, 5, 6, 7, 8", "9, 10"]);
    }
}
