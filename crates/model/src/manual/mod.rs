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
//! - [`reference`](mod@reference): the rule written literally, step by step, as the study
//!   states it. Slow (it recomputes the hidden layer ten times per image); the specification that
//!   the tests hold [`fast`] to.
//! - [`fast`]: the same arithmetic restructured (one hidden-layer product and one rank-1
//!   update per image, over the non-zero pixels only); equal to the reference within 1e-9 per
//!   weight after 1,000 real images.
//!
//! [`ManualTrainer`] trains a network with the fast rule behind the crate's
//! [`Network`](crate::Network) trait; [`evaluate`] measures a network on a test split.

pub mod fast;
mod kernel;
pub mod reference;

use replay_core::{EpochStats, Evaluation, Order, ProgressSink, SplitMix64};

use crate::data::{HIDDEN, INPUTS, OUTPUTS, Samples};
use crate::epoch::{Score, run_epoch};

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

/// Test-set metrics of `net` on `samples`: mean over images and the 10 outputs of the
/// squared error against the one-hot target (Keras "MSE"), and arg-max accuracy. An empty
/// split gives zero loss and zero accuracy.
pub fn evaluate(net: &ManualNet, samples: Samples<'_>) -> Evaluation {
    // The same sums as `ManualNet::forward`, bit for bit, from the transposed layout.
    let columns = kernel::columns_of(&net.hidden);
    let kernels = kernel::Kernels::detect();
    let mut buffer = vec![(0, 0.0); INPUTS];
    let mut score = Score::default();
    for i in 0..samples.len() {
        let active = kernel::nonzero_inputs(samples.image(i), &mut buffer);
        let z = kernels.hidden_sums(&columns, active);
        let mut h = [1.0; OUTPUT_INPUTS];
        for (hi, z) in h[1..].iter_mut().zip(z) {
            *hi = sigmoid(z);
        }
        score = score + Score::of(&output_forward(&net.output, &h), samples.label(i));
    }
    score.evaluation()
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

/// One epoch of a rule, or the span `images` of it: visits `samples` in `order` (shuffled
/// orders drawn from `seed` and `epoch`, counted from 1), positions `images` of it, calls `step(image, label)` (which updates the network and
/// returns its forward-pass outputs), and reports to `sink` after every image until the split
/// ends or the sink says stop.
pub(crate) fn epoch_of_rule(
    samples: Samples<'_>,
    order: Order,
    seed: u64,
    epoch: usize,
    images: std::ops::Range<usize>,
    sink: &mut dyn ProgressSink,
    mut step: impl FnMut(&[u8], usize) -> [f64; OUTPUTS],
) -> EpochStats {
    let all = order.indices(samples.len(), seed, epoch);
    let indices = &all[crate::train::span_of(images, all.len())];
    let result = run_epoch::<std::convert::Infallible>(indices, 1, 1, epoch, sink, |_, chunk| {
        Ok(chunk.iter().fold(Score::default(), |score, &i| {
            let label = samples.label(i);
            score + Score::of(&step(samples.image(i), label), label)
        }))
    });
    match result {
        Ok(stats) => stats,
        Err(never) => match never {},
    }
}

/// Trains a [`ManualNet`] with the [`fast`] rule: the hand-written implementation behind the
/// crate's [`Network`](crate::Network) trait.
#[derive(Debug, Clone)]
pub struct ManualTrainer {
    net: ManualNet,
    learning_rate: f64,
    seed: u64,
}

impl ManualTrainer {
    /// The study's initialisation from `seed` (see [`ManualNet::init`]), trained with
    /// `learning_rate`; `seed` also draws shuffled orders.
    pub fn new(seed: u64, learning_rate: f64) -> Self {
        Self {
            net: ManualNet::init(seed),
            learning_rate,
            seed,
        }
    }

    /// The network being trained.
    pub fn net(&self) -> &ManualNet {
        &self.net
    }

    /// One epoch of the fast rule (see [`fast::train_epoch`]).
    pub fn train_epoch(
        &mut self,
        samples: Samples<'_>,
        order: Order,
        epoch: usize,
        sink: &mut dyn ProgressSink,
    ) -> EpochStats {
        self.train_span(samples, order, epoch, 0..samples.len(), sink)
    }

    /// The span `images` of an epoch of the fast rule (see
    /// [`Network::train_span`](crate::Network::train_span)).
    pub fn train_span(
        &mut self,
        samples: Samples<'_>,
        order: Order,
        epoch: usize,
        images: std::ops::Range<usize>,
        sink: &mut dyn ProgressSink,
    ) -> EpochStats {
        let (seed, lr) = (self.seed, self.learning_rate);
        fast::train_span(
            &mut self.net,
            samples,
            order,
            (seed, epoch),
            images,
            lr,
            sink,
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use replay_core::Silent;

    #[test]
    fn spans_of_the_fast_rule_train_what_the_whole_epoch_trains() {
        let (pixels, labels): (Vec<u8>, Vec<u8>) = (
            (0..30 * INPUTS).map(|p| ((p * 7) % 5 * 60) as u8).collect(),
            (0..30).map(|i| (i % 10) as u8).collect(),
        );
        let samples = Samples::new(&pixels, &labels).unwrap();
        let (mut whole, mut split) = (ManualTrainer::new(5, 0.1), ManualTrainer::new(5, 0.1));
        whole.train_epoch(samples, Order::Shuffled, 1, &mut Silent);
        for span in [0..7, 7..8, 8..30] {
            let stats = split.train_span(samples, Order::Shuffled, 1, span.clone(), &mut Silent);
            assert_eq!(stats.samples, span.len());
        }
        assert_eq!(split.net(), whole.net());
    }

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
        let mut score = Score::default();
        for i in 0..samples.len() {
            score = score + Score::of(&net.forward(samples.image(i)), samples.label(i));
        }
        assert_eq!((eval.loss, eval.accuracy), (score.loss(), score.accuracy()));
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
    fn the_trainer_trains_with_the_fast_rule_from_the_seeded_start() {
        let pixels: Vec<u8> = (0..3 * 784).map(|i| (i * 37 % 256) as u8).collect();
        let labels = [4u8, 1, 7];
        let samples = Samples::new(&pixels, &labels).unwrap();
        let mut trainer = ManualTrainer::new(3, 0.1);
        assert_eq!(trainer.net(), &ManualNet::init(3));
        let stats = trainer.train_epoch(samples, Order::File, 1, &mut Silent);
        let mut expected = ManualNet::init(3);
        let direct = fast::train_epoch(&mut expected, samples, Order::File, 3, 1, 0.1, &mut Silent);
        assert_eq!(trainer.net(), &expected);
        assert_ne!(trainer.net(), &ManualNet::init(3));
        assert_eq!(stats, direct);
        assert_eq!((stats.samples, stats.completed), (3, true));
    }
}
