//! The study's hand-written training rule, in plain f64 Rust (no Burn, no autodiff).
//!
//! The network is the study's 785 -> 29 -> 10 view of the 784-28-10 sigmoid MLP: the bias of
//! each layer is a weight on a constant-1 input that leads the layer's input vector, so an
//! image becomes `x = [1, pixel_0 / 255, ..., pixel_783 / 255]` (785 values) and the hidden
//! activations become `h' = [1, h_0, ..., h_27]` (29 values).
//!
//! For each training image the rule makes one forward pass and then, for each output neuron
//! `j = 0..9` in turn, one update of output row `j` and one update of the whole hidden layer
//! (the exact steps are in [`reference::step`]). Two implementations of it:
//!
//! - [`reference`](mod@reference): the rule written literally, step by step, as `../shared/STUDY.md` states
//!   it. Slow (it recomputes the hidden layer ten times per image); the specification that
//!   the tests hold [`fast`] to.
//! - [`fast`]: the same arithmetic restructured (one hidden-layer product and one rank-1
//!   update per image, over the non-zero pixels only); equal to the reference within 1e-9 per
//!   weight after 1,000 real images.
//!
//! [`ManualConfig`] bundles the rule, learning rate, order and seed for a runner;
//! [`evaluate`] measures a network on a test split.

pub mod fast;
mod kernel;
pub mod reference;

use std::fmt;
use std::str::FromStr;

use crate::data::{HIDDEN, INPUTS, OUTPUTS, Order, Samples, SplitMix64};
use crate::progress::{Control, EpochStats, Evaluation, Progress, ProgressSink};

/// Inputs of the hidden layer: the constant-1 bias input followed by the 784 pixels.
pub const HIDDEN_INPUTS: usize = INPUTS + 1;
/// Inputs of the output layer: the constant-1 bias input followed by the 28 hidden neurons.
pub const OUTPUT_INPUTS: usize = HIDDEN + 1;
/// Initial weights are drawn uniformly from `[0, INIT_MAX)` (the study's `[0, 0.001)`).
pub const INIT_MAX: f64 = 0.001;
/// The study's learning rate.
pub const STUDY_LEARNING_RATE: f64 = 0.1;

/// Errors of the hand-written network.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ManualError {
    /// A weight vector does not hold rows x columns entries.
    #[error(
        "{layer} weights have {actual} entries; expected {expected} \
         ({rows} rows x {columns} columns, row-major, bias in column 0)"
    )]
    Shape {
        /// Which layer: "hidden" or "output".
        layer: &'static str,
        /// Entries given.
        actual: usize,
        /// Entries required (`rows * columns`).
        expected: usize,
        /// Rows of the layer (its neurons).
        rows: usize,
        /// Columns of the layer (its inputs, bias included).
        columns: usize,
    },
    /// A weight is NaN or infinite.
    #[error("{layer} weight at row {row}, column {column} is {value}; weights must be finite")]
    NonFinite {
        /// Which layer: "hidden" or "output".
        layer: &'static str,
        /// Row (neuron) of the weight.
        row: usize,
        /// Column (input, 0 = bias) of the weight.
        column: usize,
        /// The offending value.
        value: f64,
    },
    /// A rule name is not one of the known rules.
    #[error("unknown manual rule '{0}'; expected one of: reference, fast")]
    UnknownRule(String),
}

/// The study's 785 -> 29 -> 10 network in f64, biases as column 0 of each layer.
///
/// `hidden` is the 28 x 785 matrix W_h, `output` the 10 x 29 matrix W_o, both row-major: row
/// `r` of a layer holds the weights of its neuron `r`, column 0 is the bias (the weight on
/// the constant-1 input), column `c > 0` the weight on input `c - 1`.
#[derive(Debug, Clone, PartialEq)]
pub struct ManualNet {
    hidden: Vec<f64>,
    output: Vec<f64>,
}

impl ManualNet {
    /// The study's initialisation: every weight uniform in `[0, 0.001)`.
    ///
    /// Draw order, from `SplitMix64::new(seed)`: first W_h row by row (row 0 columns 0..785,
    /// then row 1, ...), then W_o row by row; each weight is `next_f64() * 0.001`, clamped
    /// below 0.001 in the (2^-53-rare) case that the product rounds up to it.
    pub fn init(seed: u64) -> Self {
        let mut rng = SplitMix64::new(seed);
        let below_max = INIT_MAX.next_down();
        let mut draw = |n: usize| -> Vec<f64> {
            (0..n)
                .map(|_| (rng.next_f64() * INIT_MAX).min(below_max))
                .collect()
        };
        let hidden = draw(HIDDEN * HIDDEN_INPUTS);
        let output = draw(OUTPUTS * OUTPUT_INPUTS);
        Self { hidden, output }
    }

    /// A network from given weights: `hidden` is 28 x 785 and `output` 10 x 29, row-major,
    /// bias in column 0 (the layout [`ManualNet::hidden`] and [`ManualNet::output`] return).
    pub fn from_weights(hidden: Vec<f64>, output: Vec<f64>) -> Result<Self, ManualError> {
        check_layer("hidden", &hidden, HIDDEN, HIDDEN_INPUTS)?;
        check_layer("output", &output, OUTPUTS, OUTPUT_INPUTS)?;
        Ok(Self { hidden, output })
    }

    /// W_h: 28 rows x 785 columns, row-major, bias in column 0.
    pub fn hidden(&self) -> &[f64] {
        &self.hidden
    }

    /// W_o: 10 rows x 29 columns, row-major, bias in column 0.
    pub fn output(&self) -> &[f64] {
        &self.output
    }

    /// The weights, `(hidden, output)`, in the layout of [`ManualNet::from_weights`].
    pub fn into_weights(self) -> (Vec<f64>, Vec<f64>) {
        (self.hidden, self.output)
    }

    /// The largest absolute difference between any weight of `self` and the same weight of
    /// `other` (for comparing the two rules).
    pub fn max_abs_diff(&self, other: &ManualNet) -> f64 {
        let pairs = self.hidden.iter().zip(&other.hidden);
        let pairs = pairs.chain(self.output.iter().zip(&other.output));
        pairs.map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
    }

    /// The forward pass: 784 grey levels (0-255) in, the 10 output activations
    /// `y = sigmoid(W_o [1, sigmoid(W_h [1, pixels / 255])])` out.
    ///
    /// # Panics
    /// If `image` holds fewer than 784 values.
    pub fn forward(&self, image: &[u8]) -> [f64; OUTPUTS] {
        let mut buffer = [(0, 0.0); INPUTS];
        let active = kernel::nonzero_inputs(image, &mut buffer);
        let mut h = [1.0; OUTPUT_INPUTS];
        for (hi, row) in h[1..]
            .iter_mut()
            .zip(self.hidden.chunks_exact(HIDDEN_INPUTS))
        {
            // Zero pixels add exactly nothing, so skipping them leaves the sum bit-identical
            // to the full one, summed in the same order.
            let mut z = row[0];
            for &(k, v) in active {
                z += row[k] * v;
            }
            *hi = sigmoid(z);
        }
        output_forward(&self.output, &h)
    }

    /// The predicted digit: the arg-max of [`ManualNet::forward`] (the first on ties).
    pub fn predict(&self, image: &[u8]) -> usize {
        argmax(&self.forward(image))
    }
}

fn check_layer(
    layer: &'static str,
    weights: &[f64],
    rows: usize,
    columns: usize,
) -> Result<(), ManualError> {
    let expected = rows * columns;
    if weights.len() != expected {
        return Err(ManualError::Shape {
            layer,
            actual: weights.len(),
            expected,
            rows,
            columns,
        });
    }
    match weights.iter().position(|w| !w.is_finite()) {
        Some(index) => Err(ManualError::NonFinite {
            layer,
            row: index / columns,
            column: index % columns,
            value: weights[index],
        }),
        None => Ok(()),
    }
}

/// Which implementation of the hand-written rule trains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rule {
    /// [`reference`](mod@reference): the literal rule, slow.
    Reference,
    /// [`fast`]: the same rule restructured for speed.
    #[default]
    Fast,
}

impl Rule {
    /// The rule's name as configs spell it: "reference" or "fast".
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Reference => "reference",
            Rule::Fast => "fast",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Rule {
    type Err = ManualError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "reference" => Ok(Rule::Reference),
            "fast" => Ok(Rule::Fast),
            _ => Err(ManualError::UnknownRule(s.to_owned())),
        }
    }
}

/// How to train with the hand-written rule: which implementation, learning rate, order and
/// seed. The default is the study's: fast rule, learning rate 0.1, file order, seed 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ManualConfig {
    /// Which implementation trains.
    pub rule: Rule,
    /// Learning rate of both layers' updates (the study: 0.1).
    pub learning_rate: f64,
    /// Order of the training images (the study: file order).
    pub order: Order,
    /// Seed of the initial weights and of shuffled orders.
    pub seed: u64,
}

impl Default for ManualConfig {
    fn default() -> Self {
        Self {
            rule: Rule::Fast,
            learning_rate: STUDY_LEARNING_RATE,
            order: Order::File,
            seed: 0,
        }
    }
}

impl ManualConfig {
    /// The network to start from: [`ManualNet::init`] with this config's seed.
    pub fn init(&self) -> ManualNet {
        ManualNet::init(self.seed)
    }

    /// Trains `net` for epoch `epoch` (counted from 1) over `samples` with this config's
    /// rule, order, seed and learning rate, reporting to `sink` after every image and
    /// stopping early when it says so; see [`fast::train_epoch`].
    pub fn train_epoch(
        &self,
        net: &mut ManualNet,
        samples: Samples<'_>,
        epoch: usize,
        sink: &mut impl ProgressSink,
    ) -> EpochStats {
        let (order, seed, lr) = (self.order, self.seed, self.learning_rate);
        match self.rule {
            Rule::Reference => reference::train_epoch(net, samples, order, seed, epoch, lr, sink),
            Rule::Fast => fast::train_epoch(net, samples, order, seed, epoch, lr, sink),
        }
    }
}

/// Test-set metrics of `net` on `samples`: mean over images and the 10 outputs of the
/// squared error against the one-hot target (Keras "MSE"), and arg-max accuracy. An empty
/// split gives zero loss and zero accuracy.
pub fn evaluate(net: &ManualNet, samples: Samples<'_>) -> Evaluation {
    // The same sums as `ManualNet::forward`, bit for bit, from the transposed layout.
    let columns = kernel::columns_of(&net.hidden);
    let kernels = kernel::Kernels::detect();
    let mut buffer = vec![(0, 0.0); INPUTS];
    let mut meter = Meter::default();
    for i in 0..samples.len() {
        let active = kernel::nonzero_inputs(samples.image(i), &mut buffer);
        let z = kernels.hidden_sums(&columns, active);
        let mut h = [1.0; OUTPUT_INPUTS];
        for (hi, z) in h[1..].iter_mut().zip(z) {
            *hi = sigmoid(z);
        }
        meter.add(&output_forward(&net.output, &h), samples.label(i));
    }
    Evaluation {
        samples: meter.count,
        loss: meter.loss(),
        accuracy: meter.accuracy(),
    }
}

/// The input value of a grey level: `p / 255`.
#[inline]
pub(crate) fn pixel_input(p: u8) -> f64 {
    f64::from(p) / 255.0
}

/// The logistic function `1 / (1 + e^-z)`.
#[inline]
pub(crate) fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}

/// `sum_k a[k] * b[k]`, summed from `k = 0` up. Every output activation goes through it, so
/// the reference's recomputed activations are bit-identical to the forward ones.
#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).fold(0.0, |acc, (w, v)| acc + w * v)
}

/// `y = sigmoid(W_o h')` for a row-major 10 x 29 `output`.
#[inline]
pub(crate) fn output_forward(output: &[f64], h: &[f64; OUTPUT_INPUTS]) -> [f64; OUTPUTS] {
    let mut y = [0.0; OUTPUTS];
    for (yj, row) in y.iter_mut().zip(output.chunks_exact(OUTPUT_INPUTS)) {
        *yj = sigmoid(dot(row, h));
    }
    y
}

/// The index of the largest value, the first on ties.
#[inline]
pub(crate) fn argmax(y: &[f64; OUTPUTS]) -> usize {
    let mut best = 0;
    for j in 1..OUTPUTS {
        if y[j] > y[best] {
            best = j;
        }
    }
    best
}

/// Running loss and accuracy over the images seen so far.
#[derive(Debug, Default, Clone, Copy)]
struct Meter {
    count: usize,
    loss_sum: f64,
    correct: usize,
}

impl Meter {
    /// Adds one image's forward-pass outputs and its label.
    #[inline]
    fn add(&mut self, y: &[f64; OUTPUTS], label: usize) {
        let squared: f64 = y
            .iter()
            .enumerate()
            .map(|(j, &yj)| {
                let e = if j == label { 1.0 - yj } else { -yj };
                e * e
            })
            .sum();
        self.loss_sum += squared / OUTPUTS as f64;
        self.correct += usize::from(argmax(y) == label);
        self.count += 1;
    }

    fn loss(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.loss_sum / self.count as f64
        }
    }

    fn accuracy(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.correct as f64 / self.count as f64
        }
    }
}

/// The epoch loop both rules share: visits `samples` in `order`, calls `step(image, label)`
/// (which updates the network and returns its forward-pass outputs), and reports to `sink`
/// after every image until the split ends or the sink says stop.
pub(crate) fn run_epoch(
    samples: Samples<'_>,
    order: Order,
    seed: u64,
    epoch: usize,
    sink: &mut impl ProgressSink,
    mut step: impl FnMut(&[u8], usize) -> [f64; OUTPUTS],
) -> EpochStats {
    let total = samples.len();
    let mut meter = Meter::default();
    let mut completed = true;
    for (done, index) in order.indices(total, seed, epoch).into_iter().enumerate() {
        let label = samples.label(index);
        let y = step(samples.image(index), label);
        meter.add(&y, label);
        let progress = Progress {
            epoch,
            step: done + 1,
            steps: total,
            samples: done + 1,
            total_samples: total,
            loss: meter.loss(),
            accuracy: meter.accuracy(),
        };
        if sink.on_progress(&progress) == Control::Stop {
            completed = done + 1 == total;
            break;
        }
    }
    EpochStats {
        epoch,
        samples: meter.count,
        loss: meter.loss(),
        accuracy: meter.accuracy(),
        completed,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::progress::Silent;

    #[test]
    fn init_has_the_study_shapes_and_range_and_depends_on_the_seed() {
        let net = ManualNet::init(7);
        assert_eq!(net.hidden().len(), 28 * 785);
        assert_eq!(net.output().len(), 10 * 29);
        let all = net.hidden().iter().chain(net.output());
        assert!(all.clone().all(|&w| (0.0..0.001).contains(&w)));
        // Uniform on [0, 0.001): the mean of 22,270 draws is 0.0005 within a few 1e-6.
        let mean = all.clone().sum::<f64>() / all.count() as f64;
        assert!((mean - 0.0005).abs() < 1e-5, "mean {mean}");
        assert_eq!(net, ManualNet::init(7));
        assert_ne!(net, ManualNet::init(8));
    }

    #[test]
    fn init_draws_the_hidden_layer_first_row_by_row() {
        let net = ManualNet::init(3);
        let mut rng = SplitMix64::new(3);
        let first = rng.next_f64() * 0.001;
        for _ in 1..28 * 785 {
            rng.next_f64();
        }
        let first_output = rng.next_f64() * 0.001;
        assert_eq!(net.hidden()[0], first);
        assert_eq!(net.output()[0], first_output);
    }

    #[test]
    fn from_weights_checks_shapes_and_finiteness() {
        let ok = ManualNet::from_weights(vec![0.5; 28 * 785], vec![0.25; 10 * 29]).unwrap();
        assert_eq!(ok.hidden()[100], 0.5);
        assert_eq!(ok.output()[5], 0.25);
        let err = ManualNet::from_weights(vec![0.0; 785 * 28 - 1], vec![0.0; 290]).unwrap_err();
        assert!(matches!(
            err,
            ManualError::Shape {
                layer: "hidden",
                actual: 21979,
                ..
            }
        ));
        assert!(err.to_string().contains("28 rows x 785 columns"), "{err}");
        let err = ManualNet::from_weights(vec![0.0; 28 * 785], vec![0.0; 29 * 11]).unwrap_err();
        assert!(matches!(
            err,
            ManualError::Shape {
                layer: "output",
                expected: 290,
                ..
            }
        ));
        let mut output = vec![0.0; 290];
        output[31] = f64::NAN;
        let err = ManualNet::from_weights(vec![0.0; 28 * 785], output).unwrap_err();
        assert!(
            matches!(
                err,
                ManualError::NonFinite {
                    row: 1,
                    column: 2,
                    ..
                }
            ),
            "{err}"
        );
        let (hidden, output) = ok.clone().into_weights();
        assert_eq!(ManualNet::from_weights(hidden, output).unwrap(), ok);
    }

    #[test]
    fn forward_matches_a_hand_computation() {
        // W_h: bias 0.5 on every hidden neuron, weight 1 on pixel 0 for neuron 0 only.
        let mut hidden = vec![0.0; 28 * 785];
        for i in 0..28 {
            hidden[i * 785] = 0.5;
        }
        hidden[1] = 1.0;
        // W_o: row j has bias -j/10 and weight 2 on hidden neuron 0.
        let mut output = vec![0.0; 10 * 29];
        for j in 0..10 {
            output[j * 29] = -(j as f64) / 10.0;
            output[j * 29 + 1] = 2.0;
        }
        let net = ManualNet::from_weights(hidden, output).unwrap();
        let mut image = [0u8; 784];
        image[0] = 51; // 51 / 255 = 0.2
        let h0 = 1.0 / (1.0 + (-(0.5f64 + 0.2)).exp());
        let y = net.forward(&image);
        for (j, &yj) in y.iter().enumerate() {
            let expected = 1.0 / (1.0 + (-(2.0 * h0 - j as f64 / 10.0)).exp());
            assert!(
                (yj - expected).abs() < 1e-15,
                "y[{j}] = {yj}, expected {expected}"
            );
        }
        assert_eq!(net.predict(&image), 0);
    }

    #[test]
    fn evaluate_agrees_with_forward_bit_for_bit() {
        let net = ManualNet::init(4);
        let mut rng = SplitMix64::new(12);
        let pixels: Vec<u8> = (0..20 * INPUTS)
            .map(|_| [0, 0, 0, 255, 17][rng.below(5)])
            .collect();
        let labels: Vec<u8> = (0..20).map(|i| (i % 10) as u8).collect();
        let samples = Samples::new(&pixels, &labels).unwrap();
        let eval = evaluate(&net, samples);
        let mut meter = Meter::default();
        for i in 0..samples.len() {
            meter.add(&net.forward(samples.image(i)), samples.label(i));
        }
        assert_eq!((eval.loss, eval.accuracy), (meter.loss(), meter.accuracy()));
    }

    #[test]
    fn rules_parse_and_print_and_unknown_names_list_the_valid_ones() {
        for rule in [Rule::Reference, Rule::Fast] {
            assert_eq!(rule.to_string().parse::<Rule>().unwrap(), rule);
        }
        let err = "quick".parse::<Rule>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown manual rule 'quick'; expected one of: reference, fast"
        );
    }

    #[test]
    fn evaluate_counts_arg_max_hits_and_mean_squared_error() {
        // All-zero weights: every output is 0.5, the prediction is digit 0 (first on ties).
        let net = ManualNet::from_weights(vec![0.0; 28 * 785], vec![0.0; 290]).unwrap();
        let pixels = vec![9u8; 4 * 784];
        let labels = [0u8, 3, 0, 9];
        let eval = evaluate(&net, Samples::new(&pixels, &labels).unwrap());
        assert_eq!(eval.samples, 4);
        assert_eq!(eval.accuracy, 0.5);
        // Each image: one (1 - 0.5)^2 and nine (0 - 0.5)^2, mean 0.25.
        assert!((eval.loss - 0.25).abs() < 1e-15);
        let empty = evaluate(&net, Samples::new(&[], &[]).unwrap());
        assert_eq!((empty.samples, empty.loss, empty.accuracy), (0, 0.0, 0.0));
    }

    #[test]
    fn the_config_dispatches_to_both_rules_with_the_same_result() {
        let pixels: Vec<u8> = (0..3 * 784).map(|i| (i * 37 % 256) as u8).collect();
        let labels = [4u8, 1, 7];
        let samples = Samples::new(&pixels, &labels).unwrap();
        let fast = ManualConfig {
            seed: 3,
            ..ManualConfig::default()
        };
        let reference = ManualConfig {
            rule: Rule::Reference,
            ..fast
        };
        assert_eq!(fast.init(), ManualNet::init(3));
        let (mut a, mut b) = (fast.init(), reference.init());
        let sa = fast.train_epoch(&mut a, samples, 1, &mut Silent);
        let sb = reference.train_epoch(&mut b, samples, 1, &mut Silent);
        assert!(a.max_abs_diff(&b) < 1e-12);
        assert_ne!(a, fast.init());
        assert_eq!(
            (sa.samples, sa.completed, sb.samples, sb.completed),
            (3, true, 3, true)
        );
        assert!((sa.loss - sb.loss).abs() < 1e-12);
        let default = ManualConfig::default();
        assert_eq!(
            (default.rule, default.order, default.seed),
            (Rule::Fast, Order::File, 0)
        );
        assert_eq!(default.learning_rate, 0.1);
    }
}
