//! The study's framework network: Keras' `Dense(28, sigmoid)` then `Dense(10, sigmoid)`, in Burn.
//!
//! Keras defaults are kept: Glorot (Xavier) uniform weights and zero biases. Burn's
//! `LinearConfig::with_initializer` would also draw the biases from the Glorot range, so the
//! biases are replaced by zeros after initialisation.
//!
//! Weights can be written to and read from SafeTensors files (see [`Mlp::save_safetensors`]).

use std::path::Path;

use burn::module::Param;
use burn::nn::{Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use burn::tensor::activation::sigmoid;
use replay_core::SplitMix64;

use crate::data::{HIDDEN, INPUTS, OUTPUTS};

/// Errors of the networks: weight files, device read-backs, settings a network cannot take.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A weights file could not be read or written.
    #[error("weights file '{path}': {message}")]
    Weights {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A weights file lacks tensors, or holds tensors of the wrong shape.
    #[error(
        "weights file '{path}' does not fit the 784-{hidden}-10 network: {message}; expected \
         tensors hidden.weight [784, {hidden}], hidden.bias [{hidden}], output.weight \
         [{hidden}, 10], output.bias [10]"
    )]
    WeightsMismatch {
        /// The file.
        path: String,
        /// The network's hidden units.
        hidden: usize,
        /// Which tensors are missing, unexpected or misshapen.
        message: String,
    },
    /// The device failed to run the work or to hand back a result.
    #[error("device error: {0}")]
    Device(String),
    /// A setting the network cannot take (a batch size for the hand-written rule, ...).
    #[error("{0}")]
    Unsupported(String),
}

/// What identifies a weights file in the results: `sha256:` and the first 16 hex digits of
/// the SHA-256 of its bytes.
pub fn weights_file_id(path: &Path) -> Result<String, ModelError> {
    use sha2::Digest;
    let bytes = std::fs::read(path).map_err(|e| ModelError::Weights {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let digest = sha2::Sha256::digest(&bytes);
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("sha256:{hex}"))
}

/// Builds an [`Mlp`]: layer sizes default to the study's 784-28-10; `hidden` may be any
/// width.
#[derive(Config, Debug)]
pub struct MlpConfig {
    /// Input features (28 x 28 pixels).
    #[config(default = 784)]
    pub inputs: usize,
    /// Hidden sigmoid neurons.
    #[config(default = 28)]
    pub hidden: usize,
    /// Output sigmoid neurons, one per digit.
    #[config(default = 10)]
    pub outputs: usize,
}

impl Default for MlpConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl MlpConfig {
    /// The study's network on `device`: Glorot-uniform weights drawn from the device's random
    /// generator (seed it with `device.seed(..)` first for a reproducible start) and zero
    /// biases. The draws differ between backends; [`MlpConfig::init_seeded`] does not.
    pub fn init(&self, device: &Device) -> Mlp {
        Mlp {
            hidden: glorot_layer(self.inputs, self.hidden, device),
            output: glorot_layer(self.hidden, self.outputs, device),
        }
    }

    /// The study's network on `device` with Glorot-uniform weights drawn on the host from
    /// `seed` (SplitMix64: the hidden layer's weights row by row, then the output layer's) and
    /// zero biases: the same start on every backend, so that a seed trains the same network on
    /// flex, ndarray and wgpu (up to float rounding), and how many images it needs to reach an
    /// accuracy does not depend on the backend it was measured on.
    pub fn init_seeded(&self, seed: u64, device: &Device) -> Mlp {
        let mut rng = SplitMix64::new(seed ^ INIT_DOMAIN);
        Mlp {
            hidden: seeded_layer(self.inputs, self.hidden, &mut rng, device),
            output: seeded_layer(self.hidden, self.outputs, &mut rng, device),
        }
    }
}

/// Separates the initial weights' generator from the shuffles' (`Order::indices`).
const INIT_DOMAIN: u64 = 0x1417_0000_0000_0000;

/// A `[inputs, outputs]` layer with weights uniform in +-sqrt(6 / (inputs + outputs)) (Glorot,
/// as Keras' and Burn's `XavierUniform`) from `rng`, and zero biases.
fn seeded_layer(inputs: usize, outputs: usize, rng: &mut SplitMix64, device: &Device) -> Linear {
    let limit = (6.0 / (inputs + outputs) as f64).sqrt();
    let values: Vec<f32> = (0..inputs * outputs)
        .map(|_| ((2.0 * rng.next_f64() - 1.0) * limit) as f32)
        .collect();
    let mut layer = LinearConfig::new(inputs, outputs).init(device);
    layer.weight = Param::from_tensor(Tensor::from_data(
        TensorData::new(values, [inputs, outputs]),
        device,
    ));
    layer.bias = Some(Param::from_tensor(Tensor::zeros([outputs], device)));
    layer
}

fn glorot_layer(inputs: usize, outputs: usize, device: &Device) -> Linear {
    let mut layer = LinearConfig::new(inputs, outputs)
        .with_initializer(Initializer::XavierUniform { gain: 1.0 })
        .init(device);
    layer.bias = Some(Param::from_tensor(Tensor::zeros([outputs], device)));
    // Burn draws a parameter's initial values lazily, at its first use. Draw them now, so that
    // the weights depend on the seed and the layer order only, not on which of them a
    // training step or a read-back happens to touch first.
    let _ = layer.weight.val();
    layer
}

/// The 784-N-10 sigmoid MLP (the study's has N = 28 hidden units).
///
/// Burn's `Linear` stores its weight as `[inputs, outputs]` and computes `x W + b`.
#[derive(Module, Debug)]
pub struct Mlp {
    /// 784 -> N, followed by a sigmoid.
    pub hidden: Linear,
    /// N -> 10, followed by a sigmoid.
    pub output: Linear,
}

impl Mlp {
    /// Shapes: `images` `[batch, 784]` (pixels scaled to [0, 1]) -> `[batch, 10]` sigmoid
    /// outputs, one per digit.
    pub fn forward(&self, images: Tensor<2>) -> Tensor<2> {
        let hidden = sigmoid(self.hidden.forward(images));
        sigmoid(self.output.forward(hidden))
    }

    /// The number of hidden units.
    pub fn hidden_units(&self) -> usize {
        self.hidden.weight.dims()[1]
    }

    /// Writes the weights as a SafeTensors file (atomically: a crash leaves any old file
    /// whole). Tensors, all f32, in Burn's layout (`x W + b`, weights `[in, out]`), for N
    /// hidden units: `hidden.weight` `[784, N]`, `hidden.bias` `[N]`, `output.weight`
    /// `[N, 10]`, `output.bias` `[10]`. PyTorch's `nn.Linear` wants `[out, in]`: transpose the weights
    /// when loading them there.
    pub fn save_safetensors(&self, path: &Path) -> Result<(), ModelError> {
        let mut store = SafetensorsStore::from_file(path)
            .overwrite(true)
            .metadata(
                "network",
                format!(
                    "784-{}-10 sigmoid MLP (cloud-ml-replay)",
                    self.hidden_units()
                ),
            )
            .metadata("layout", "weights [in, out], y = x W + b");
        self.save_into(&mut store).map_err(|e| ModelError::Weights {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// Replaces every weight and bias with those of a SafeTensors file written by
    /// [`Mlp::save_safetensors`] (or by any tool using the same names, shapes and layout).
    /// Every tensor must be present with its exact shape.
    pub fn load_safetensors(mut self, path: &Path) -> Result<Self, ModelError> {
        let describe = |message: String| ModelError::Weights {
            path: path.display().to_string(),
            message,
        };
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(describe("no such file".to_string()));
            }
            Err(e) => return Err(describe(e.to_string())),
            Ok(meta) if meta.is_dir() => {
                return Err(describe("is a directory, not a weights file".to_string()));
            }
            Ok(meta) if !meta.is_file() => {
                return Err(describe(
                    "is not a regular file (a device, pipe or socket); give a SafeTensors \
                     file written by --save-weights"
                        .to_string(),
                ));
            }
            Ok(meta) if meta.len() == 0 => {
                return Err(describe("is empty, not a SafeTensors file".to_string()));
            }
            Ok(_) => {}
        }
        let mut store = SafetensorsStore::from_file(path)
            .validate(true)
            .allow_partial(false);
        let result = self
            .load_from(&mut store)
            .map_err(|e| describe(e.to_string()))?;
        let mut problems = Vec::new();
        if !result.missing.is_empty() {
            let names: Vec<&str> = result
                .missing
                .iter()
                .map(|(name, _)| name.as_str())
                .collect();
            problems.push(format!("missing {}", names.join(", ")));
        }
        if !result.unused.is_empty() {
            problems.push(format!("unexpected {}", result.unused.join(", ")));
        }
        for error in &result.errors {
            problems.push(error.to_string());
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(ModelError::WeightsMismatch {
                path: path.display().to_string(),
                hidden: self.hidden.weight.dims()[1],
                message: problems.join("; "),
            })
        }
    }

    /// Weights and biases copied to the host, in the order hidden.weight `[784 x N]`,
    /// hidden.bias, output.weight `[N x 10]`, output.bias.
    pub fn to_host(&self) -> Result<[Vec<f32>; 4], ModelError> {
        let read = |t: Tensor<2>| read_f32(t.reshape([-1])).map_err(ModelError::Device);
        let read1 = |t: Tensor<1>| read_f32(t).map_err(ModelError::Device);
        let bias = |layer: &Linear| {
            layer
                .bias
                .as_ref()
                .map(|b| b.val())
                .ok_or_else(|| ModelError::Device("layer without bias".to_string()))
        };
        Ok([
            read(self.hidden.weight.val())?,
            read1(bias(&self.hidden)?)?,
            read(self.output.weight.val())?,
            read1(bias(&self.output)?)?,
        ])
    }
}

/// Reads a tensor back as f32 values.
pub(crate) fn read_f32<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, String> {
    tensor.try_to_vec_as::<f32>().map_err(|e| e.to_string())
}

/// Compile-time guard: the study's sizes match the crate's constants.
const _: () = assert!(INPUTS == 784 && HIDDEN == 28 && OUTPUTS == 10);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_weights_file_is_named_by_its_digest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        std::fs::write(&path, b"abc").unwrap();
        // SHA-256("abc") = ba7816bf8f01cfea 414140de5dae2223...
        assert_eq!(weights_file_id(&path).unwrap(), "sha256:ba7816bf8f01cfea");
        let err = weights_file_id(&dir.path().join("none")).unwrap_err();
        assert!(err.to_string().starts_with("weights file '"), "{err}");
    }

    #[test]
    fn seeded_weights_are_glorot_the_same_on_every_backend_and_follow_the_seed() {
        let device = Device::flex().autodiff();
        let host = |mlp: &Mlp| mlp.to_host().unwrap();
        let a = host(&MlpConfig::new().init_seeded(3, &device));
        assert_eq!(a, host(&MlpConfig::new().init_seeded(3, &device)));
        assert_ne!(a, host(&MlpConfig::new().init_seeded(4, &device)));
        let [w1, b1, w2, b2] = a;
        let (bound1, bound2) = ((6.0f32 / 812.0).sqrt(), (6.0f32 / 38.0).sqrt());
        assert!(w1.iter().all(|w| w.abs() <= bound1) && w2.iter().all(|w| w.abs() <= bound2));
        assert!(w1.iter().copied().fold(0.0f32, f32::max) > 0.9 * bound1);
        assert!(b1.iter().chain(&b2).all(|&b| b == 0.0));
        // The first weight is the generator's first draw, whatever the backend.
        let mut rng = SplitMix64::new(3 ^ INIT_DOMAIN);
        let first = ((2.0 * rng.next_f64() - 1.0) * (6.0f64 / 812.0).sqrt()) as f32;
        assert_eq!(w1[0], first);
    }

    #[test]
    fn initial_weights_do_not_depend_on_which_parameter_is_read_first() {
        let device = Device::flex().autodiff();
        let read = |t: Tensor<2>| read_f32(t.reshape([-1])).unwrap();
        device.seed(9);
        let a = MlpConfig::new().init(&device);
        let a_output = read(a.output.weight.val());
        let a_hidden = read(a.hidden.weight.val());
        device.seed(9);
        let b = MlpConfig::new().init(&device);
        let b_hidden = read(b.hidden.weight.val());
        let b_output = read(b.output.weight.val());
        assert_eq!((a_hidden, a_output), (b_hidden, b_output));
    }
}
