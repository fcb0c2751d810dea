//! What every chart shares around its plot: the title, a legend that wraps into rows instead of
//! running off the canvas, and a placer that puts labels where they overlap nothing.

use super::canvas::{Align, Anchor, Canvas, Colour, PixelBox, Text, text_height, text_width};

/// Space kept free around the canvas' edge, in pixels.
pub(super) const MARGIN: f64 = 16.0;

/// The least width of a chart, in pixels.
pub(super) const MIN_WIDTH: f64 = 1000.0;

/// The font size of the title.
pub(super) const TITLE_SIZE: f64 = 20.0;

/// The font size of labels (legend entries, row labels, values).
pub(super) const LABEL_SIZE: f64 = 13.0;

/// The font size of axis descriptions.
pub(super) const AXIS_SIZE: f64 = 14.0;

/// Where the title's box starts, from the top.
const TITLE_TOP: f64 = 12.0;

/// The y where what follows the title may start.
pub(super) fn below_title() -> f64 {
    TITLE_TOP + text_height(TITLE_SIZE) + 10.0
}

/// The width a title needs, margins included.
pub(super) fn title_width(title: &str) -> f64 {
    text_width(title, TITLE_SIZE) + 2.0 * MARGIN
}

/// Draws `title` centred at the top of a canvas `width` wide.
pub(super) fn draw_title(canvas: &mut Canvas, title: &str, width: f64) {
    canvas.text(
        &Text::new(title, width / 2.0, TITLE_TOP, TITLE_SIZE).aligned(Anchor::Middle, Align::Top),
    );
}

/// What a legend entry shows before its text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Swatch {
    /// A filled square: a bar's colour.
    Bar(Colour),
    /// A circle, filled or hollow.
    Dot(Colour, bool),
    /// A cross: the study's figure.
    Cross(Colour),
    /// A line with a dot: a series of a line chart.
    Line(Colour),
    /// A square outline filled or hollow: a point drawn as a square.
    Square(Colour, bool),
}

/// One entry of a legend.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Entry {
    /// The mark.
    pub swatch: Swatch,
    /// Its meaning.
    pub text: String,
}

impl Entry {
    /// An entry.
    pub fn new(swatch: Swatch, text: impl Into<String>) -> Entry {
        Entry {
            swatch,
            text: text.into(),
        }
    }
}

/// Width of a swatch and the gap after it, in pixels.
const SWATCH: f64 = 18.0;
const SWATCH_GAP: f64 = 6.0;
/// Space between entries of a row, and inside the legend's box.
const ENTRY_GAP: f64 = 22.0;
const PADDING: f64 = 8.0;

/// A legend laid out in rows no wider than asked (wider only for an entry that alone is).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Legend {
    /// Each entry and its top left corner, relative to the legend's box.
    placed: Vec<(Entry, f64, f64)>,
    /// The box's size.
    pub width: f64,
    /// See `width`.
    pub height: f64,
}

impl Legend {
    /// Lays `entries` out in rows at most `max_width` wide; an empty legend takes no space.
    pub fn layout(entries: Vec<Entry>, max_width: f64) -> Legend {
        let row_height = text_height(LABEL_SIZE) + 6.0;
        let (mut x, mut y, mut width) = (PADDING, PADDING, 0.0f64);
        let mut placed = Vec::with_capacity(entries.len());
        for entry in entries {
            let w = SWATCH + SWATCH_GAP + text_width(&entry.text, LABEL_SIZE);
            if x > PADDING && x + w + PADDING > max_width {
                (x, y) = (PADDING, y + row_height);
            }
            placed.push((entry, x, y));
            width = width.max(x + w + PADDING);
            x += w + ENTRY_GAP;
        }
        let height = if placed.is_empty() {
            0.0
        } else {
            y + row_height - 6.0 + PADDING
        };
        Legend {
            placed,
            width,
            height,
        }
    }

    /// Draws the legend with its box's top left corner at `(left, top)`; returns the box.
    pub fn draw(&self, canvas: &mut Canvas, left: f64, top: f64) -> PixelBox {
        let frame = PixelBox::at(left, top, self.width, self.height);
        if self.placed.is_empty() {
            return frame;
        }
        canvas.rect(
            frame,
            Some(Colour::WHITE),
            Some((Colour::GREY, 1.0)),
            "class=\"legend\"",
        );
        let middle = text_height(LABEL_SIZE) / 2.0;
        for (entry, x, y) in &self.placed {
            let (x, y) = (left + x, top + y + middle);
            match entry.swatch {
                Swatch::Bar(c) => {
                    canvas.rect(
                        PixelBox::at(x + 2.0, y - 6.0, 14.0, 12.0),
                        Some(c),
                        None,
                        "",
                    );
                }
                Swatch::Dot(c, filled) => canvas.circle((x + 9.0, y), 5.0, c, filled),
                Swatch::Cross(c) => canvas.cross((x + 9.0, y), 6.0, c, 2.5),
                Swatch::Line(c) => {
                    canvas.line((x, y), (x + SWATCH, y), c, 2.5);
                    canvas.circle((x + 9.0, y), 3.5, c, true);
                }
                Swatch::Square(c, filled) => {
                    let fill = if filled { c } else { Colour::WHITE };
                    let b = PixelBox::around(x + 9.0, y, 4.5);
                    canvas.rect(b, Some(fill), Some((c, 2.0)), "");
                }
            }
            let mut text = Text::new(entry.text.clone(), x + SWATCH + SWATCH_GAP, y, LABEL_SIZE);
            text.legend = true;
            canvas.text(&text);
        }
        frame
    }
}

/// Places labels where they overlap no box already taken and stay inside `bounds`.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Placer {
    bounds: PixelBox,
    taken: Vec<PixelBox>,
}

impl Placer {
    /// A placer for labels inside `bounds`.
    pub fn new(bounds: PixelBox) -> Placer {
        Placer {
            bounds,
            taken: Vec::new(),
        }
    }

    /// Marks `b` as taken (a mark, or a label placed otherwise).
    pub fn take(&mut self, b: PixelBox) {
        self.taken.push(b);
    }

    /// Whether a label may go in `b`.
    pub fn is_free(&self, b: &PixelBox) -> bool {
        self.bounds.contains(b) && !self.taken.iter().any(|t| t.overlaps(&b.grown(1.0)))
    }

    /// The box of a `w` x `h` label placed beside the point `at` (a mark of half-size `r`):
    /// the first free place on rings of growing distance around it, right of the point first,
    /// taken; `None` when there is none inside the bounds. The second value says whether it
    /// landed far from the point (a leader line should join them).
    pub fn place_near(
        &mut self,
        at: (f64, f64),
        w: f64,
        h: f64,
        r: f64,
    ) -> Option<(PixelBox, bool)> {
        let reach = (self.bounds.x1 - self.bounds.x0).max(self.bounds.y1 - self.bounds.y0);
        let mut distance = r + 3.0;
        while distance <= reach {
            // About one place per 10 pixels of the ring.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let places = ((std::f64::consts::TAU * distance / 10.0).ceil() as usize).max(8);
            for i in 0..places {
                #[allow(clippy::cast_precision_loss)] // a few hundred places
                let angle = std::f64::consts::TAU * i as f64 / places as f64;
                let (dx, dy) = (angle.cos(), -angle.sin());
                let (px, py) = (at.0 + dx * distance, at.1 + dy * distance);
                let x = if dx > 0.38 {
                    px
                } else if dx < -0.38 {
                    px - w
                } else {
                    px - w / 2.0
                };
                let y = if dy > 0.38 {
                    py
                } else if dy < -0.38 {
                    py - h
                } else {
                    py - h / 2.0
                };
                let b = PixelBox::at(x, y, w, h);
                if self.is_free(&b) {
                    self.taken.push(b);
                    return Some((b, distance > r + 20.0));
                }
            }
            distance += 4.0;
        }
        None
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_legend_wraps_instead_of_running_off() {
        let entries: Vec<Entry> = (0..30)
            .map(|i| {
                Entry::new(
                    Swatch::Dot(Colour::BLACK, true),
                    format!("configuration {i}"),
                )
            })
            .collect();
        let legend = Legend::layout(entries, 600.0);
        assert!(legend.width <= 600.0, "{}", legend.width);
        assert!(legend.height > 100.0, "several rows: {}", legend.height);
        assert_eq!(Legend::layout(Vec::new(), 600.0).height, 0.0);
        // One entry wider than asked keeps its width: the canvas grows to it.
        let long = Legend::layout(
            vec![Entry::new(Swatch::Bar(Colour::BLACK), "x".repeat(200))],
            100.0,
        );
        assert!(long.width > 100.0);
    }

    #[test]
    fn labels_are_placed_where_they_overlap_nothing_taken() {
        let mut placer = Placer::new(PixelBox::at(0.0, 0.0, 200.0, 200.0));
        placer.take(PixelBox::around(100.0, 100.0, 5.0));
        let mut placed = Vec::new();
        for _ in 0..40 {
            let (b, _) = placer.place_near((100.0, 100.0), 20.0, 12.0, 5.0).unwrap();
            placed.push(b);
        }
        for (i, a) in placed.iter().enumerate() {
            assert!(PixelBox::at(0.0, 0.0, 200.0, 200.0).contains(a));
            assert!(!a.overlaps(&PixelBox::around(100.0, 100.0, 5.0)));
            for b in &placed[i + 1..] {
                assert!(!a.overlaps(b), "{a:?} and {b:?}");
            }
        }
        // A full area gives no place rather than an overlapping one.
        let mut full = Placer::new(PixelBox::at(0.0, 0.0, 30.0, 30.0));
        full.take(PixelBox::at(0.0, 0.0, 30.0, 30.0));
        assert_eq!(full.place_near((15.0, 15.0), 10.0, 10.0, 2.0), None);
    }
}
