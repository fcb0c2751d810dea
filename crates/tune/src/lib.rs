//! Time and cost to a trained model.
//!
//! How many training images a model needs to reach a test accuracy is a property of the
//! arithmetic (dataset, width, batch size, learning rate, seed), the same on every backend;
//! how fast a configuration trains images is the hardware's. [`tune`] measures the first once
//! (`runner tune`: the best rate per batch size, scored over seeds as MLPerf Training scores
//! runs) into a convergence file; [`advise`] multiplies it by each configuration's measured
//! throughput (`runner advise`) and ranks configurations by predicted time or cost to target.

pub mod advise;
pub mod convergence;
pub mod error;
pub mod score;
pub mod search;
pub mod train;
pub mod tune;

pub use error::TuneError;
