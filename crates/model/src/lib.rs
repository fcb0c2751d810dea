//! The study's network, two ways, behind one [`Network`] trait.
//!
//! - [`mlp`] and [`train`]: the framework implementation, the study's Keras network
//!   (784 -> 28 sigmoid -> 10 sigmoid, Glorot-uniform weights, zero biases, MSE loss, SGD) in
//!   Burn, on whatever device the caller passes. A training step is either one fused backend
//!   operation for a whole chunk of steps ([`replay_backend::fused`]) or Burn's autodiff.
//! - [`manual`]: the study's hand-written rule in plain f64 Rust: `manual::reference` is the
//!   rule written literally, `manual::fast` the same arithmetic restructured for speed.
//!
//! Both train on borrowed [`Samples`] through one epoch loop, report through a
//! [`ProgressSink`](replay_core::ProgressSink), and evaluate to an
//! [`Evaluation`](replay_core::Evaluation). [`network`] builds either from a [`NetworkSpec`].
//! The crate knows no files but weights files, no terminals and no command-line flags.

pub mod data;
mod epoch;
pub mod manual;
pub mod mlp;
mod network;
mod schedule;
pub mod train;

pub use data::{HIDDEN, INPUTS, OUTPUTS, Samples};
pub use epoch::Score;
pub use mlp::{Mlp, MlpConfig, ModelError, weights_file_id};
pub use network::{Network, NetworkSpec, network};
pub use schedule::EvalSchedule;
pub use train::{Trainer, evaluate};
