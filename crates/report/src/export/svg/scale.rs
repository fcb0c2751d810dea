//! Axes: how values map onto pixels (linearly, or by their logarithm when they span more than
//! [`LOG_SPAN`] times), and tick labels that never overlap.

use super::canvas::{Align, Anchor, Canvas, Colour, Text, text_height, text_width};
use crate::export::markdown::number;

/// The ratio of the largest to the smallest value above which an axis is logarithmic.
pub(super) const LOG_SPAN: f64 = 20.0;

/// The font size of tick labels.
pub(super) const TICK_SIZE: f64 = 12.0;

/// The least free space between two tick labels, in pixels.
const TICK_GAP: f64 = 10.0;

/// How values map onto an axis, in axis units: the value, or its base-10 logarithm.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Scale {
    /// Whether the axis is logarithmic.
    pub log: bool,
    /// The axis' ends, in axis units.
    pub lo: f64,
    /// See `lo`.
    pub hi: f64,
}

impl Scale {
    /// A scale for the positive, finite `values` (others are left out: a chart shows them
    /// apart): logarithmic when they span more than [`LOG_SPAN`] times, else linear from 0;
    /// `0..1` when there are none.
    pub fn of(values: impl Iterator<Item = f64> + Clone) -> Scale {
        let positive = values.filter(|v| v.is_finite() && *v > 0.0);
        let max = positive.clone().fold(0.0, f64::max);
        let min = positive.fold(f64::INFINITY, f64::min);
        if max <= 0.0 {
            return Scale::linear(0.0, 1.0);
        }
        if max / min > LOG_SPAN {
            Scale::logarithmic(min, max)
        } else {
            Scale::linear(0.0, max * 1.05)
        }
    }

    /// A logarithmic scale from just below `min` to just above `max` (both positive).
    pub fn logarithmic(min: f64, max: f64) -> Scale {
        let pad = 0.08 * (max.log10() - min.log10()).max(0.5);
        Scale {
            log: true,
            lo: min.log10() - pad,
            hi: max.log10() + pad,
        }
    }

    /// A linear scale from `lo` to `hi` (a unit wide at least).
    pub fn linear(lo: f64, hi: f64) -> Scale {
        let hi = if hi > lo { hi } else { lo + 1.0 };
        Scale { log: false, lo, hi }
    }

    /// Where `value` sits, from 0 (the axis' start) to 1 (its end); values outside the axis
    /// (and zeros on a log axis) are clamped to it.
    pub fn fraction(&self, value: f64) -> f64 {
        let at = if self.log {
            if value > 0.0 { value.log10() } else { self.lo }
        } else {
            value
        };
        ((at - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0)
    }

    /// Whether `value` can be shown on the axis (a log axis cannot show 0).
    pub fn shows(&self, value: f64) -> bool {
        value.is_finite() && (value > 0.0 || !self.log)
    }

    /// ` (log scale)` for a logarithmic axis' description.
    pub fn note(&self) -> &'static str {
        if self.log { " (log scale)" } else { "" }
    }

    /// The ticks to label along `pixels` of axis, with their labels: the densest round set
    /// whose labels, `vertical` or side by side, leave [`TICK_GAP`] between them.
    pub fn ticks(&self, pixels: f64, vertical: bool) -> Vec<(f64, String)> {
        let fits = |ticks: &[(f64, String)]| {
            let mut last_end = f64::NEG_INFINITY;
            for (value, label) in ticks {
                let at = self.fraction(*value) * pixels;
                let half = if vertical {
                    text_height(TICK_SIZE) / 2.0
                } else {
                    text_width(label, TICK_SIZE) / 2.0
                };
                if at - half < last_end + TICK_GAP {
                    return false;
                }
                last_end = at + half;
            }
            true
        };
        let candidates = if self.log {
            self.log_candidates()
        } else {
            self.linear_candidates()
        };
        for ticks in &candidates {
            if ticks.len() >= 2 && fits(ticks) {
                return ticks.clone();
            }
        }
        // Even the sparsest set does not fit (a very short axis): one tick of it.
        let mut sparsest = candidates
            .into_iter()
            .rev()
            .find(|ticks| !ticks.is_empty())
            .unwrap_or_default();
        sparsest.truncate(1);
        sparsest
    }

    /// Tick sets of a log axis, densest first: 1, 2 and 5 per decade; 1 and 3; 1; every
    /// second, fifth and tenth decade.
    fn log_candidates(&self) -> Vec<Vec<(f64, String)>> {
        #[allow(clippy::cast_possible_truncation)] // the exponents of finite f64s
        let (first, last) = (self.lo.floor() as i32, self.hi.ceil() as i32);
        let in_range = |value: f64| {
            let at = value.log10();
            at >= self.lo - 1e-9 && at <= self.hi + 1e-9
        };
        let set = |steps: &[f64], every: i32| -> Vec<(f64, String)> {
            (first..=last)
                .filter(|decade| decade.rem_euclid(every) == 0)
                .flat_map(|decade| steps.iter().map(move |s| s * 10f64.powi(decade)))
                .filter(|v| in_range(*v))
                .map(|v| (v, tick(v)))
                .collect()
        };
        let mut sets = vec![
            set(&[1.0, 2.0, 5.0], 1),
            set(&[1.0, 3.0], 1),
            set(&[1.0], 1),
        ];
        sets.extend([2, 5, 10, 20, 50, 100].map(|every| set(&[1.0], every)));
        sets
    }

    /// Tick sets of a linear axis, densest first: multiples of 1, 2 and 5 times powers of
    /// ten, from about 20 ticks down to 2.
    fn linear_candidates(&self) -> Vec<Vec<(f64, String)>> {
        let span = self.hi - self.lo;
        if !(span.is_finite() && span > 0.0) {
            return Vec::new();
        }
        #[allow(clippy::cast_possible_truncation)] // the exponent of a finite span
        let start = (span / 20.0).log10().floor() as i32;
        let mut sets = Vec::new();
        for exponent in start..start + 4 {
            for mantissa in [1.0, 2.0, 5.0] {
                let step = mantissa * 10f64.powi(exponent);
                let decimals = usize::try_from(-exponent).unwrap_or(0);
                #[allow(clippy::cast_possible_truncation)] // a few dozen ticks
                let (from, to) = (
                    (self.lo / step - 1e-9).ceil() as i64,
                    (self.hi / step + 1e-9).floor() as i64,
                );
                #[allow(clippy::cast_precision_loss)] // small tick numbers
                let ticks: Vec<(f64, String)> = (from..=to)
                    .map(|i| {
                        let value = i as f64 * step;
                        (value, format!("{value:.decimals$}"))
                    })
                    .collect();
                sets.push(ticks);
            }
        }
        sets
    }
}

/// A tick value: three significant digits without trailing zeros (`20`, `0.5`, `125`).
pub(super) fn tick(value: f64) -> String {
    let text = number(value);
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// A plot's rectangle on the canvas, in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Plot {
    /// Left edge.
    pub left: f64,
    /// Top edge.
    pub top: f64,
    /// Right edge.
    pub right: f64,
    /// Bottom edge.
    pub bottom: f64,
}

impl Plot {
    /// The x pixel of `value` on `scale` along the plot's width.
    pub fn x(&self, scale: &Scale, value: f64) -> f64 {
        self.left + scale.fraction(value) * (self.right - self.left)
    }

    /// The y pixel of `value` on `scale` up the plot's height.
    pub fn y(&self, scale: &Scale, value: f64) -> f64 {
        self.bottom - scale.fraction(value) * (self.bottom - self.top)
    }

    /// Draws the plot's frame (left and bottom axis lines).
    pub fn frame(&self, canvas: &mut Canvas) {
        canvas.line(
            (self.left, self.top),
            (self.left, self.bottom),
            Colour::BLACK,
            1.0,
        );
        canvas.line(
            (self.left, self.bottom),
            (self.right, self.bottom),
            Colour::BLACK,
            1.0,
        );
    }

    /// Draws `scale`'s ticks along the bottom edge: grid lines up the plot, labels below.
    pub fn x_ticks(&self, canvas: &mut Canvas, scale: &Scale) {
        for (value, label) in scale.ticks(self.right - self.left, false) {
            let x = self.x(scale, value);
            canvas.line((x, self.top), (x, self.bottom), Colour::GRID, 1.0);
            canvas.line((x, self.bottom), (x, self.bottom + 5.0), Colour::BLACK, 1.0);
            canvas.text(
                &Text::new(label, x, self.bottom + 8.0, TICK_SIZE)
                    .aligned(Anchor::Middle, Align::Top),
            );
        }
    }

    /// Draws `scale`'s ticks along the left edge: grid lines across the plot, labels left.
    pub fn y_ticks(&self, canvas: &mut Canvas, scale: &Scale) {
        for (value, label) in scale.ticks(self.bottom - self.top, true) {
            let y = self.y(scale, value);
            canvas.line((self.left, y), (self.right, y), Colour::GRID, 1.0);
            canvas.line((self.left - 5.0, y), (self.left, y), Colour::BLACK, 1.0);
            canvas.text(
                &Text::new(label, self.left - 7.0, y, TICK_SIZE)
                    .aligned(Anchor::End, Align::Middle),
            );
        }
    }
}

/// The pixels the tick labels of `scale` need beside a vertical axis (their widest).
pub(super) fn y_tick_width(scale: &Scale, pixels: f64) -> f64 {
    scale
        .ticks(pixels, true)
        .iter()
        .map(|(_, label)| text_width(label, TICK_SIZE))
        .fold(0.0, f64::max)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ticks_drop_trailing_zeros() {
        assert_eq!(tick(20.0), "20");
        assert_eq!(tick(0.5), "0.5");
        assert_eq!(tick(120.0), "120");
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(0.0025), "0.0025");
    }

    #[test]
    fn values_spanning_more_than_twenty_times_get_a_log_axis() {
        let linear = Scale::of([1.0, 19.0].into_iter());
        assert!(!linear.log && linear.lo == 0.0);
        assert_eq!(linear.fraction(0.0), 0.0);
        let log = Scale::of([0.2, 150.0, 0.0].into_iter());
        assert!(log.log, "zeros are left out");
        assert!(log.lo < 0.2f64.log10() && log.hi > 150f64.log10());
        assert_eq!(log.fraction(0.0), 0.0);
        assert!(!log.shows(0.0) && log.shows(1.0) && linear.shows(0.0));
        assert_eq!(Scale::of([0.0].into_iter()), Scale::linear(0.0, 1.0));
    }

    /// The pixel extents of the ticks' labels along `pixels` of axis.
    fn extents(scale: &Scale, pixels: f64) -> Vec<(f64, f64)> {
        scale
            .ticks(pixels, false)
            .iter()
            .map(|(v, label)| {
                let at = scale.fraction(*v) * pixels;
                let half = text_width(label, TICK_SIZE) / 2.0;
                (at - half, at + half)
            })
            .collect()
    }

    #[test]
    fn tick_labels_never_overlap_however_many_decades_or_pixels() {
        for (lo, hi) in [
            (0.0001, 50.0),
            (1e-9, 1e9),
            (0.2, 150.0),
            (90.0, 95.0),
            (0.0, 1e-5),
        ] {
            let scale = if lo > 0.0 {
                Scale::logarithmic(lo, hi)
            } else {
                Scale::linear(lo, hi)
            };
            for pixels in [80.0, 300.0, 650.0, 2000.0] {
                let extents = extents(&scale, pixels);
                assert!(!extents.is_empty(), "{lo}..{hi} on {pixels} px");
                for pair in extents.windows(2) {
                    assert!(pair[0].1 + TICK_GAP <= pair[1].0, "{lo}..{hi}: {pair:?}");
                }
            }
        }
        // The example report's cost axis: 0.0001 and 0.0002 no longer print over each other.
        let cost = Scale::logarithmic(0.0001, 15.0);
        let labels: Vec<String> = cost.ticks(600.0, false).into_iter().map(|t| t.1).collect();
        assert!(labels.contains(&"0.001".to_string()), "{labels:?}");
        assert!(!labels.contains(&"0.0002".to_string()), "{labels:?}");
    }

    #[test]
    fn linear_ticks_are_round_and_written_to_their_steps_decimals() {
        let scale = Scale::linear(91.0, 94.0);
        let labels: Vec<String> = scale.ticks(600.0, false).into_iter().map(|t| t.1).collect();
        assert!(labels.contains(&"92.0".to_string()) || labels.contains(&"92".to_string()));
        let fine = Scale::linear(0.0, 0.05);
        let labels: Vec<String> = fine.ticks(600.0, false).into_iter().map(|t| t.1).collect();
        assert!(labels.contains(&"0.010".to_string()), "{labels:?}");
    }
}
