//! The hand-written rule written literally, as the study states it: the
//! specification [`super::fast`] is tested against. It recomputes the whole hidden layer ten
//! times per image (about 0.9 million multiply-adds), so an epoch takes tens of seconds.

use super::{
    HIDDEN_INPUTS, ManualNet, OUTPUT_INPUTS, dot, epoch_of_rule, output_forward, pixel_input,
    sigmoid,
};
use crate::data::{HIDDEN, OUTPUTS, Samples};
use replay_core::{EpochStats, Order, ProgressSink};

/// What one [`step`] saw: the forward-pass outputs and the activations it recomputed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepTrace {
    /// `y = sigmoid(W_o h')` from the single forward pass, before any update.
    pub outputs: [f64; OUTPUTS],
    /// `s_j` for each output neuron `j`: its activation recomputed with the output weights
    /// as they stood when neuron `j`'s turn came (rows `0..j` already updated).
    pub recomputed: [f64; OUTPUTS],
}

/// One training image, the rule step by step. With `x = [1, image / 255]` (785 values) and
/// `t` the one-hot target of `label`:
///
/// 1. forward once: `h = sigmoid(W_h x)`, `h' = [1, h]`, `y = sigmoid(W_o h')`;
/// 2. for each output neuron `j = 0..9` in turn:
///    - `e = t_j - y_j` (`y` from step 1, not recomputed);
///    - `s = sigmoid(W_o h')` with the CURRENT `W_o`; `d_o = e * s_j * (1 - s_j)`;
///    - `g = sigmoid(W_h x)` with the CURRENT `W_h`; derivative vector `[0.25, g * (1 - g)]`;
///    - `d_h` = `d_o * W_o[j] * derivative` without its first element (28 values), with row
///      `j` of `W_o` as it stood BEFORE this step's update;
///    - `W_o[j] += lr * d_o * h'` (`h'` from step 1);
///    - `W_h += lr * outer(d_h, x)`.
///
/// `image` holds 784 grey levels, `label` is 0-9, `lr` is the study's 0.1 for both layers.
/// Returns what the step saw, for progress and for the tests.
pub fn step(net: &mut ManualNet, image: &[u8], label: usize, lr: f64) -> StepTrace {
    let x: Vec<f64> = std::iter::once(1.0)
        .chain(image.iter().map(|&p| pixel_input(p)))
        .collect();

    // 1. Forward once.
    let h = hidden_forward(&net.hidden, &x);
    let mut h_prime = [1.0; OUTPUT_INPUTS];
    h_prime[1..].copy_from_slice(&h);
    let y = output_forward(&net.output, &h_prime);

    // 2. Ten successive updates, one per output neuron.
    let mut recomputed = [0.0; OUTPUTS];
    for j in 0..OUTPUTS {
        let t = if j == label { 1.0 } else { 0.0 };
        let e = t - y[j];

        let s = output_forward(&net.output, &h_prime);
        recomputed[j] = s[j];
        let d_o = e * s[j] * (1.0 - s[j]);

        let g = hidden_forward(&net.hidden, &x);
        let mut derivative = [0.25; OUTPUT_INPUTS];
        for (d, gi) in derivative[1..].iter_mut().zip(g) {
            *d = gi * (1.0 - gi);
        }

        let row = &mut net.output[j * OUTPUT_INPUTS..(j + 1) * OUTPUT_INPUTS];
        let mut d_full = [0.0; OUTPUT_INPUTS];
        for ((d, w), der) in d_full.iter_mut().zip(row.iter()).zip(derivative) {
            *d = d_o * w * der;
        }
        let d_h = &d_full[1..];

        for (w, v) in row.iter_mut().zip(h_prime) {
            *w += lr * d_o * v;
        }
        for (hidden_row, dh) in net.hidden.chunks_exact_mut(HIDDEN_INPUTS).zip(d_h) {
            for (w, xk) in hidden_row.iter_mut().zip(&x) {
                *w += lr * dh * xk;
            }
        }
    }
    StepTrace {
        outputs: y,
        recomputed,
    }
}

/// `sigmoid(W_h x)`, every term of every row, in column order.
fn hidden_forward(hidden: &[f64], x: &[f64]) -> [f64; HIDDEN] {
    let mut h = [0.0; HIDDEN];
    for (hi, row) in h.iter_mut().zip(hidden.chunks_exact(HIDDEN_INPUTS)) {
        *hi = sigmoid(dot(row, x));
    }
    h
}

/// One epoch of the literal rule: visits `samples` in `order` (shuffled orders drawn from
/// `seed` and `epoch`, counted from 1), applies [`step`] with learning rate `lr` to each
/// image, and reports to `sink` after every image the running loss (mean over the 10 outputs
/// of `(t - y)^2`, `y` from the forward pass) and running accuracy (arg-max of `y` equals the
/// label). Stops early, with `completed == false`, when the sink returns `Control::Stop`.
pub fn train_epoch(
    net: &mut ManualNet,
    samples: Samples<'_>,
    order: Order,
    seed: u64,
    epoch: usize,
    lr: f64,
    sink: &mut dyn ProgressSink,
) -> EpochStats {
    epoch_of_rule(
        samples,
        order,
        seed,
        epoch,
        0..samples.len(),
        sink,
        |image, label| step(net, image, label, lr).outputs,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::data::INPUTS;
    use replay_core::{Control, Progress};

    fn sig(z: f64) -> f64 {
        1.0 / (1.0 + (-z).exp())
    }

    /// W_h all zero; every output row has bias `b` and weight `w` on all 28 hidden neurons.
    fn symmetric_net(b: f64, w: f64) -> ManualNet {
        let mut output = vec![w; OUTPUTS * OUTPUT_INPUTS];
        for j in 0..OUTPUTS {
            output[j * OUTPUT_INPUTS] = b;
        }
        ManualNet::from_weights(vec![0.0; HIDDEN * HIDDEN_INPUTS], output).unwrap()
    }

    #[test]
    fn one_step_matches_a_hand_computation() {
        // x = [1, 1, 0, ...] (pixel 0 is 255), so x.x = 2. W_h = 0, W_o rows [-14, 1, ..., 1].
        // Forward: h = 0.5 everywhere, W_o h' = -14 + 28 * 0.5 = 0, y_j = 0.5 for every j.
        // Neuron j: s_j = y_j (row j untouched so far), d_o_j = (t_j - 0.5) * 0.25 = +-0.125.
        // All hidden neurons stay alike: after j updates their pre-activation is
        // lr * x.x * D_j with D_j the sum of the earlier d_h's, g_j = sigmoid(2 lr D_j), and
        // d_h_j = d_o_j * 1 (row j before its update) * g_j (1 - g_j).
        // Final W_h[i][0] = W_h[i][1] = lr * D_10; W_o[j][0] = -14 + lr d_o_j,
        // W_o[j][c > 0] = 1 + lr d_o_j / 2.
        let (lr, label) = (0.5, 3);
        let mut net = symmetric_net(-14.0, 1.0);
        let mut image = [0u8; INPUTS];
        image[0] = 255;
        let trace = step(&mut net, &image, label, lr);

        let mut d_sum = 0.0;
        for j in 0..OUTPUTS {
            let d_o = if j == label { 0.125 } else { -0.125 };
            let g = sig(lr * 2.0 * d_sum);
            d_sum += d_o * g * (1.0 - g);
        }
        // The same recurrence, worked out separately in Python: lr * D_10.
        let by_hand = -0.12448976529479666;
        assert!((lr * d_sum - by_hand).abs() < 1e-15);
        // Without recomputing g (g = 0.5 throughout) it would be -0.125.
        assert!((by_hand - (-0.125f64)).abs() > 1e-4);

        assert_eq!(trace.outputs, [0.5; OUTPUTS]);
        assert_eq!(trace.recomputed, [0.5; OUTPUTS]);
        for i in 0..HIDDEN {
            let row = &net.hidden()[i * HIDDEN_INPUTS..(i + 1) * HIDDEN_INPUTS];
            assert!((row[0] - by_hand).abs() < 1e-15, "W_h[{i}][0] = {}", row[0]);
            assert!((row[1] - by_hand).abs() < 1e-15, "W_h[{i}][1] = {}", row[1]);
            assert!(row[2..].iter().all(|&w| w == 0.0));
        }
        for j in 0..OUTPUTS {
            let d_o = if j == label { 0.125 } else { -0.125 };
            let row = &net.output()[j * OUTPUT_INPUTS..(j + 1) * OUTPUT_INPUTS];
            assert_eq!(row[0], -14.0 + lr * d_o);
            assert!(row[1..].iter().all(|&w| w == 1.0 + lr * d_o * 0.5));
        }
        assert_eq!(net.output()[label * OUTPUT_INPUTS], -13.9375);
    }

    #[test]
    fn recomputed_output_activation_equals_the_forward_one() {
        // The claim the fast rule rests on: updates of rows 0..j-1 leave s_j = y_j exactly.
        let mut net = ManualNet::init(11);
        let image: Vec<u8> = (0..INPUTS).map(|k| (k * 131 % 256) as u8).collect();
        for label in [0, 5, 9] {
            let trace = step(&mut net, &image, label, 0.1);
            assert_eq!(trace.recomputed, trace.outputs);
        }
    }

    #[test]
    fn the_epoch_reports_every_image_and_stops_when_asked() {
        let pixels: Vec<u8> = (0..5 * INPUTS).map(|k| (k * 7 % 256) as u8).collect();
        let labels = [0u8, 1, 2, 3, 4];
        let samples = Samples::new(&pixels, &labels).unwrap();
        let mut seen = Vec::new();
        let mut sink = |p: &Progress| {
            seen.push(*p);
            if p.step == 3 {
                Control::Stop
            } else {
                Control::Continue
            }
        };
        let mut net = ManualNet::init(1);
        let stats = train_epoch(&mut net, samples, Order::File, 0, 2, 0.1, &mut sink);
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[2].step, 3);
        assert_eq!(
            (seen[2].steps, seen[2].total_samples, seen[2].epoch),
            (5, 5, 2)
        );
        assert_eq!((stats.samples, stats.completed, stats.epoch), (3, false, 2));
        assert_eq!(stats.loss, seen[2].loss);

        // The first report is the first image's forward pass on the initial weights.
        let y = ManualNet::init(1).forward(samples.image(0));
        let loss = y
            .iter()
            .enumerate()
            .map(|(j, v)| (f64::from(j == 0) - v).powi(2))
            .sum::<f64>();
        assert!((seen[0].loss - loss / 10.0).abs() < 1e-15);
        let correct = (1..10).all(|j| y[j] <= y[0]);
        assert_eq!(seen[0].accuracy, f64::from(u8::from(correct)));
    }
}
