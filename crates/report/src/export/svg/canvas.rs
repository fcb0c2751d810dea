//! A small SVG writer: shapes and text at pixel positions, every text's box known.
//!
//! Text is placed by the box it will take ([`Text::bounds`]), estimated conservatively from its
//! font size and length, so that the charts can place labels where they overlap nothing and
//! stay on the canvas. The same estimate is what the tests check the written SVG with.

use std::fmt::Write as _;

/// The font every text is written in; the viewer picks a sans-serif face.
pub(super) const FONT: &str = "sans-serif";

/// The width of one character, in ems: more than the average advance of DejaVu Sans (digits
/// 0.64, lower case 0.6 on average), the widest common sans-serif face.
pub(super) const CHAR_WIDTH_EM: f64 = 0.7;

/// How far a text's box reaches above its baseline, in ems (accents included).
pub(super) const ASCENT_EM: f64 = 0.95;

/// How far a text's box reaches below its baseline, in ems.
pub(super) const DESCENT_EM: f64 = 0.3;

/// An RGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Colour(pub u8, pub u8, pub u8);

impl Colour {
    /// Black.
    pub const BLACK: Colour = Colour(0, 0, 0);
    /// White.
    pub const WHITE: Colour = Colour(255, 255, 255);
    /// The grey of grid lines.
    pub const GRID: Colour = Colour(225, 225, 225);
    /// The grey of secondary marks and lines.
    pub const GREY: Colour = Colour(110, 110, 110);
    /// The red of the study's figures.
    pub const STUDY: Colour = Colour(200, 0, 0);

    fn hex(self) -> String {
        format!("#{:02X}{:02X}{:02X}", self.0, self.1, self.2)
    }
}

/// Okabe-Ito colours: distinguishable with the common colour-vision deficiencies. Charts
/// colour by implementation (two or three series); labels, not colours, name groups.
const PALETTE: [Colour; 7] = [
    Colour(0, 114, 178),
    Colour(230, 159, 0),
    Colour(0, 158, 115),
    Colour(204, 121, 167),
    Colour(86, 180, 233),
    Colour(213, 94, 0),
    Colour(0, 0, 0),
];

/// The colour of series `index`.
pub(super) fn colour(index: usize) -> Colour {
    PALETTE[index % PALETTE.len()]
}

/// A box in pixels: `x0 <= x1`, `y0 <= y1`, y growing downwards.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct PixelBox {
    /// Left.
    pub x0: f64,
    /// Top.
    pub y0: f64,
    /// Right.
    pub x1: f64,
    /// Bottom.
    pub y1: f64,
}

impl PixelBox {
    /// The box with its top left corner at `(x, y)`, `w` wide and `h` high.
    pub fn at(x: f64, y: f64, w: f64, h: f64) -> PixelBox {
        PixelBox {
            x0: x,
            y0: y,
            x1: x + w,
            y1: y + h,
        }
    }

    /// A square of half-side `r` around `(x, y)` (a mark).
    pub fn around(x: f64, y: f64, r: f64) -> PixelBox {
        PixelBox::at(x - r, y - r, 2.0 * r, 2.0 * r)
    }

    /// Whether the two boxes share any area (touching edges do not).
    pub fn overlaps(&self, other: &PixelBox) -> bool {
        self.x0 < other.x1 && other.x0 < self.x1 && self.y0 < other.y1 && other.y0 < self.y1
    }

    /// Whether `other` lies wholly inside this box.
    pub fn contains(&self, other: &PixelBox) -> bool {
        other.x0 >= self.x0 && other.x1 <= self.x1 && other.y0 >= self.y0 && other.y1 <= self.y1
    }

    /// The box grown by `by` pixels on every side.
    pub fn grown(&self, by: f64) -> PixelBox {
        PixelBox {
            x0: self.x0 - by,
            y0: self.y0 - by,
            x1: self.x1 + by,
            y1: self.y1 + by,
        }
    }
}

/// The width of `text` at font `size`, in pixels (conservative, see [`CHAR_WIDTH_EM`]).
pub(super) fn text_width(text: &str, size: f64) -> f64 {
    #[allow(clippy::cast_precision_loss)] // label lengths are small
    let chars = text.chars().count() as f64;
    chars * CHAR_WIDTH_EM * size
}

/// The height of a line of text at font `size`, in pixels.
pub(super) fn text_height(size: f64) -> f64 {
    (ASCENT_EM + DESCENT_EM) * size
}

/// Where a text's anchor point sits on it, horizontally.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Anchor {
    /// The anchor is the text's left end.
    Start,
    /// The anchor is the text's middle.
    Middle,
    /// The anchor is the text's right end.
    End,
}

/// Where a text's anchor point sits on it, vertically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Align {
    /// The anchor is the top of the text's box.
    Top,
    /// The anchor is the middle of the text's box.
    Middle,
}

/// A line of text to draw.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Text {
    /// The text.
    pub text: String,
    /// The anchor point, x.
    pub x: f64,
    /// The anchor point, y.
    pub y: f64,
    /// The font size, in pixels.
    pub size: f64,
    /// Horizontal alignment on the anchor.
    pub anchor: Anchor,
    /// Vertical alignment on the anchor.
    pub align: Align,
    /// The colour.
    pub colour: Colour,
    /// Turned 90 degrees anticlockwise about the anchor (a vertical axis' description).
    pub vertical: bool,
    /// Part of the legend (written with `class="legend"`).
    pub legend: bool,
}

impl Text {
    /// Black, horizontal text of `size` at `(x, y)`, aligned as given.
    pub fn new(text: impl Into<String>, x: f64, y: f64, size: f64) -> Text {
        Text {
            text: text.into(),
            x,
            y,
            size,
            anchor: Anchor::Start,
            align: Align::Middle,
            colour: Colour::BLACK,
            vertical: false,
            legend: false,
        }
    }

    /// The same, aligned as given.
    pub fn aligned(mut self, anchor: Anchor, align: Align) -> Text {
        self.anchor = anchor;
        self.align = align;
        self
    }

    /// The same, in `colour`.
    pub fn coloured(mut self, colour: Colour) -> Text {
        self.colour = colour;
        self
    }

    /// The same, turned to read upwards.
    pub fn upwards(mut self) -> Text {
        self.vertical = true;
        self
    }

    /// The y of the baseline, relative to the anchor, before any turn.
    fn baseline_offset(&self) -> f64 {
        match self.align {
            Align::Top => ASCENT_EM * self.size,
            Align::Middle => (ASCENT_EM - DESCENT_EM) / 2.0 * self.size,
        }
    }

    /// The box the text takes.
    pub fn bounds(&self) -> PixelBox {
        let (w, h) = (text_width(&self.text, self.size), text_height(self.size));
        let along = match self.anchor {
            Anchor::Start => 0.0,
            Anchor::Middle => -w / 2.0,
            Anchor::End => -w,
        };
        let top = self.baseline_offset() - ASCENT_EM * self.size;
        if self.vertical {
            // Turned anticlockwise: along the text is up the page, its top is to the left.
            PixelBox::at(self.x + top, self.y - along - w, h, w)
        } else {
            PixelBox::at(self.x + along, self.y + top, w, h)
        }
    }
}

/// An SVG document being drawn, `width` x `height` pixels.
#[derive(Debug)]
pub(super) struct Canvas {
    width: f64,
    height: f64,
    body: String,
}

/// A number for an SVG attribute: at most two decimals.
fn n(value: f64) -> String {
    let rounded = (value * 100.0).round() / 100.0;
    if rounded == rounded.trunc() {
        format!("{rounded:.0}")
    } else {
        format!("{rounded}")
    }
}

/// `text` with the XML special characters escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Control characters are not allowed in XML 1.0.
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

impl Canvas {
    /// A white canvas.
    pub fn new(width: f64, height: f64) -> Canvas {
        let mut canvas = Canvas {
            width: width.ceil(),
            height: height.ceil(),
            body: String::new(),
        };
        let (w, h) = (canvas.width, canvas.height);
        canvas.rect(PixelBox::at(0.0, 0.0, w, h), Some(Colour::WHITE), None, "");
        canvas
    }

    /// A rectangle, filled and/or outlined (`(colour, width)`), with extra attributes (an
    /// opacity, a class) written as given.
    pub fn rect(
        &mut self,
        b: PixelBox,
        fill: Option<Colour>,
        stroke: Option<(Colour, f64)>,
        extra: &str,
    ) {
        let fill = fill.map_or_else(|| "none".to_string(), Colour::hex);
        let stroke = stroke.map_or_else(
            || "stroke=\"none\"".to_string(),
            |(c, w)| format!("stroke=\"{}\" stroke-width=\"{}\"", c.hex(), n(w)),
        );
        let _ = writeln!(
            self.body,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{fill}\" {stroke}{}{extra}/>",
            n(b.x0),
            n(b.y0),
            n(b.x1 - b.x0),
            n(b.y1 - b.y0),
            if extra.is_empty() { "" } else { " " },
        );
    }

    /// A straight line.
    pub fn line(&mut self, from: (f64, f64), to: (f64, f64), colour: Colour, width: f64) {
        let _ = writeln!(
            self.body,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{}\"/>",
            n(from.0),
            n(from.1),
            n(to.0),
            n(to.1),
            colour.hex(),
            n(width)
        );
    }

    /// A dotted line: a leader from a mark to its label, not data.
    pub fn leader(&mut self, from: (f64, f64), to: (f64, f64)) {
        let _ = writeln!(
            self.body,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"1\" \
             stroke-dasharray=\"2,3\"/>",
            n(from.0),
            n(from.1),
            n(to.0),
            n(to.1),
            Colour::GREY.hex(),
        );
    }

    /// Connected line segments through `points`.
    pub fn polyline(&mut self, points: &[(f64, f64)], colour: Colour, width: f64) {
        if points.len() < 2 {
            return;
        }
        let points: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{},{}", n(*x), n(*y)))
            .collect();
        let _ = writeln!(
            self.body,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" \
             stroke-linejoin=\"round\"/>",
            points.join(" "),
            colour.hex(),
            n(width)
        );
    }

    /// A circle of radius `r`: filled with `fill`, or hollow with a white inside.
    pub fn circle(&mut self, at: (f64, f64), r: f64, colour: Colour, filled: bool) {
        let fill = if filled { colour } else { Colour::WHITE };
        let _ = writeln!(
            self.body,
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\" stroke=\"{}\" stroke-width=\"2\"/>",
            n(at.0),
            n(at.1),
            n(r),
            fill.hex(),
            colour.hex()
        );
    }

    /// A cross (×) of half-size `r` at `at`.
    pub fn cross(&mut self, at: (f64, f64), r: f64, colour: Colour, width: f64) {
        let (x, y) = at;
        self.line((x - r, y - r), (x + r, y + r), colour, width);
        self.line((x - r, y + r), (x + r, y - r), colour, width);
    }

    /// A line of text; returns its box.
    pub fn text(&mut self, text: &Text) -> PixelBox {
        let anchor = match text.anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let (x, y) = (text.x, text.y);
        let baseline = text.baseline_offset();
        let (bx, by, turn) = if text.vertical {
            (
                x + baseline,
                y,
                format!(" transform=\"rotate(-90, {}, {})\"", n(x + baseline), n(y)),
            )
        } else {
            (x, y + baseline, String::new())
        };
        let class = if text.legend { " class=\"legend\"" } else { "" };
        let _ = writeln!(
            self.body,
            "<text x=\"{}\" y=\"{}\" font-family=\"{FONT}\" font-size=\"{}\" text-anchor=\"{anchor}\" \
             fill=\"{}\"{turn}{class}>{}</text>",
            n(bx),
            n(by),
            n(text.size),
            text.colour.hex(),
            escape(&text.text)
        );
        text.bounds()
    }

    /// The finished document.
    pub fn finish(self) -> String {
        format!(
            "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" \
             xmlns=\"http://www.w3.org/2000/svg\">\n{}</svg>\n",
            self.body,
            w = n(self.width),
            h = n(self.height)
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_texts_box_follows_its_anchor_and_turn() {
        let t = Text::new("abcd", 100.0, 50.0, 10.0);
        let b = t.bounds();
        assert_eq!((b.x0, b.x1), (100.0, 128.0));
        assert!((b.y1 - b.y0 - 12.5).abs() < 1e-9);
        assert!(
            ((b.y0 + b.y1) / 2.0 - 50.0).abs() < 1e-9,
            "middle-aligned: {b:?}"
        );
        let b = t.clone().aligned(Anchor::End, Align::Top).bounds();
        assert_eq!((b.x0, b.x1, b.y0), (72.0, 100.0, 50.0));
        let b = t.clone().aligned(Anchor::Middle, Align::Middle).bounds();
        assert_eq!((b.x0, b.x1), (86.0, 114.0));
        // Turned: it reads upwards from the anchor, its top towards the left.
        let b = t.aligned(Anchor::Middle, Align::Top).upwards().bounds();
        assert!(
            (b.x0 - 100.0).abs() < 1e-9 && (b.x1 - 112.5).abs() < 1e-9,
            "{b:?}"
        );
        assert!(
            (b.y0 - 36.0).abs() < 1e-9 && (b.y1 - 64.0).abs() < 1e-9,
            "{b:?}"
        );
    }

    #[test]
    fn text_is_escaped_and_numbers_are_short() {
        let mut canvas = Canvas::new(10.0, 10.0);
        canvas.text(&Text::new("a<b & \"c\"\u{7}", 1.0 / 3.0, 2.0, 10.0));
        let svg = canvas.finish();
        assert!(svg.contains(">a&lt;b &amp; &quot;c&quot; </text>"), "{svg}");
        assert!(svg.contains("x=\"0.33\""), "{svg}");
        assert!(svg.starts_with("<svg width=\"10\" height=\"10\""), "{svg}");
    }

    #[test]
    fn boxes_overlap_only_with_shared_area() {
        let a = PixelBox::at(0.0, 0.0, 10.0, 10.0);
        assert!(a.overlaps(&PixelBox::at(9.0, 9.0, 5.0, 5.0)));
        assert!(!a.overlaps(&PixelBox::at(10.0, 0.0, 5.0, 5.0)));
        assert!(a.contains(&PixelBox::at(1.0, 1.0, 2.0, 2.0)));
        assert!(!a.contains(&PixelBox::at(9.0, 1.0, 2.0, 2.0)));
    }
}
