//! The time-versus-cost chart: one numbered point per group, the study's figure beside the
//! groups of its workload, and a key below naming the numbers. Points that coincide are drawn
//! once and numbered together; numbers go where they overlap no other number and no mark;
//! free epochs (0) sit in a strip of their own below a log axis.

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
use crate::report::{GroupReport, Report};

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
    let per_second = g.cost_per_1000_epochs / 1000.0 / g.wall_s.median;
    per_second
        .is_finite()
        .then_some((study, study * per_second))
}

/// A mark and the numbers of the points it stands for.
struct Mark {
    at: (f64, f64),
    colour: Colour,
    numbers: Vec<usize>,
}

/// Merges points closer than [`COINCIDE`] pixels into one mark each.
fn marks(points: &[((f64, f64), Colour, usize)]) -> Vec<Mark> {
    let mut marks: Vec<Mark> = Vec::new();
    for &(at, colour, number) in points {
        let near = marks
            .iter_mut()
            .find(|m| m.colour == colour && (m.at.0 - at.0).hypot(m.at.1 - at.1) < COINCIDE);
        match near {
            Some(mark) => mark.numbers.push(number),
            None => marks.push(Mark {
                at,
                colour,
                numbers: vec![number],
            }),
        }
    }
    marks
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
    if report.groups.is_empty() {
        return no_data(&title, "No epoch finished with status ok.");
    }
    let currency = report.single_currency();
    let names = implementations(&report.groups);
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
    let x = Scale::of(all.clone().map(|p| p.0));
    let y = Scale::of(all.clone().map(|p| p.1));
    let free_strip = y.log && all.clone().any(|p| !y.shows(p.1));
    let key: Vec<String> = report
        .groups
        .iter()
        .zip(&points)
        .enumerate()
        .map(|(i, (g, p))| {
            let money = match currency {
                Some(c) if p.1 > 0.0 => format!("{} {c}", number(p.1)),
                Some(c) => format!("free (0 {c})"),
                None => format!("{} {}", number(p.1), g.currency),
            };
            format!("{}: {}, {} s, {money}", i + 1, g.label, number(p.0))
        })
        .collect();

    let y_desc = match currency {
        Some(currency) => format!("cost of one epoch, {currency}{}", y.note()),
        None => format!("cost of one epoch, in each point's currency{}", y.note()),
    };
    let x_desc = format!("wall time of one epoch, s (left is faster){}", x.note());
    let key_width = key
        .iter()
        .map(|line| text_width(line, NUMBER_SIZE))
        .fold(0.0, f64::max);
    let width = [
        MIN_WIDTH,
        title_width(&title),
        key_width + 2.0 * MARGIN + 24.0,
        text_width(&x_desc, AXIS_SIZE) + 2.0 * MARGIN + 200.0,
    ]
    .into_iter()
    .fold(0.0, f64::max);
    let mut legend_entries: Vec<Entry> = names
        .iter()
        .enumerate()
        .map(|(i, name)| Entry::new(Swatch::Dot(colour(i), true), *name))
        .collect();
    if studies.iter().any(Option::is_some) {
        legend_entries.push(Entry::new(
            Swatch::Cross(Colour::STUDY),
            "study (2023), at the same tariff (same number)",
        ));
    }
    let legend = Legend::layout(legend_entries, width - 2.0 * MARGIN);
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
    draw_title(&mut canvas, &title, width);
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
    let colour_of = |g: &GroupReport| {
        colour(
            names
                .iter()
                .position(|s| *s == g.implementation)
                .unwrap_or(0),
        )
    };
    let replay: Vec<((f64, f64), Colour, usize)> = report
        .groups
        .iter()
        .zip(&points)
        .enumerate()
        .map(|(i, (g, p))| (pixel(p), colour_of(g), i + 1))
        .collect();
    let study: Vec<((f64, f64), Colour, usize)> = studies
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some((pixel(p.as_ref()?), Colour::STUDY, i + 1)))
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
        canvas.circle(mark.at, 6.0, mark.colour, true);
        placer.take(PixelBox::around(mark.at.0, mark.at.1, 7.0));
    }
    for mark in &study {
        canvas.cross(mark.at, 7.0, Colour::STUDY, 2.0);
        placer.take(PixelBox::around(mark.at.0, mark.at.1, 8.0));
    }
    let mut unlabelled = Vec::new();
    for mark in replay.iter().chain(&study) {
        let lines = number_lines(&mark.numbers);
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
            canvas.text(&t.coloured(mark.colour));
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn coinciding_points_become_one_mark_numbered_together() {
        let blue = colour(0);
        let points = [
            ((10.0, 10.0), blue, 1),
            ((11.0, 10.5), blue, 2),
            ((40.0, 10.0), blue, 3),
            ((10.0, 10.0), colour(1), 4),
        ];
        let marks = marks(&points);
        assert_eq!(marks.len(), 3);
        assert_eq!(marks[0].numbers, [1, 2]);
        let many: Vec<usize> = (1..=10).collect();
        assert_eq!(number_lines(&many), ["1, 2, 3, 4, 5, 6, 7, 8", "9, 10"]);
    }
}
