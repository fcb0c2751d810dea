//! `runner advise --measure`: the timing runs the advice lacks, run here the way the `runner
//! sweep` commands it prints would run them (each configuration as it replays by default, the
//! Burn MLP at the goal's dataset and width, two epochs of a few thousand images per batch
//! size), their rows appended to the results folder.

use replay_core::Implementation;
use replay_platform::Overrides;
use replay_session::{Datasets, Observer, Options, StopSignal, Sweep, SweepItem, run_items};

use super::{AdviseError, MEASURE_EPOCHS, Missing, Request};

/// What `--measure` is to run, and what it cannot run here.
#[derive(Debug, Clone, Default)]
pub struct Measurement {
    /// The timing runs, in the order of `missing` and its batch sizes.
    pub items: Vec<SweepItem>,
    /// The runs that cannot run here, each `config at batch N: why` (a backend not compiled
    /// in, a network no step trains).
    pub skipped: Vec<String>,
}

/// The sweep that times `missing`'s batch sizes on its configuration.
pub fn sweep_of(request: &Request, missing: &Missing) -> Sweep {
    let goal = &request.goal;
    Sweep {
        configs: vec![missing.path.clone()],
        overrides: Overrides {
            implementation: Some(Implementation::Burn),
            dataset: Some(goal.dataset),
            hidden_units: Some(goal.hidden_units as usize),
            epochs: Some(MEASURE_EPOCHS),
            ..Overrides::default()
        },
        batch_sizes: missing.batch_sizes.iter().map(|&b| b as usize).collect(),
        repeats: 1,
        options: Options {
            limit: request.measure_limit(),
            background: false,
            data_dir: request.data_dir.clone(),
            out: request.results.clone(),
        },
        ..Sweep::default()
    }
}

/// The timing runs of every `missing` pair.
pub fn plan(request: &Request, missing: &[Missing]) -> Result<Measurement, AdviseError> {
    let mut measurement = Measurement::default();
    for m in missing {
        let (items, skipped, _) = sweep_of(request, m).items_for(None)?;
        measurement.items.extend(items);
        measurement.skipped.extend(skipped.into_iter().map(|s| {
            let batch = s.item.plan.settings.batch_size;
            format!("{} at batch {batch}: {}", m.config, s.why)
        }));
    }
    for (index, item) in measurement.items.iter_mut().enumerate() {
        item.index = index;
    }
    Ok(measurement)
}

/// Runs the timing runs one after another (each dataset loaded once); false when a stop
/// request ended them.
pub fn run(
    measurement: &Measurement,
    stop: &StopSignal,
    observer: &mut dyn Observer,
) -> Result<bool, AdviseError> {
    let mut data = Datasets::default();
    Ok(run_items(&measurement.items, &mut data, stop, observer)?)
}
