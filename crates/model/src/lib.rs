//! The study's network, two ways.
//!
//! - [`mlp`] and [`train`]: the framework implementation, the study's Keras network
//!   (784 -> 28 sigmoid -> 10 sigmoid, Glorot-uniform weights, zero biases, MSE loss, SGD) in
//!   Burn, on whatever device the caller passes.
//! - [`manual`]: the study's hand-written rule in plain f64 Rust: `manual::reference` is the
//!   rule written literally, `manual::fast` the same arithmetic restructured for speed.
//!
//! Both train on borrowed [`Samples`], report through a [`ProgressSink`], and evaluate to an
//! [`Evaluation`]. The crate knows no files, terminals or command-line flags.

pub mod data;
pub mod manual;
pub mod mlp;
pub mod progress;
pub mod train;

pub use data::{HIDDEN, INPUTS, OUTPUTS, Order, Samples, SplitMix64};
pub use mlp::{Mlp, MlpConfig, MlpError};
pub use progress::{Control, EpochStats, Evaluation, Progress, ProgressSink, Silent};
pub use train::{Step, Trainer, evaluate};
