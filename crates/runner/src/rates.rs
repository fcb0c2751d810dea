//! Learning rates on the command line: a sweep's `--learning-rates` (a list, or `tuned` from a
//! convergence file), and the hint a run at a bigger batch with the study's rate gets.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use replay_core::{Dataset, Implementation};
use replay_platform::{DEFAULT_LEARNING_RATE, RunSettings};
use replay_session::{LearningRates, TunedRates};
use replay_tune::convergence::{CONVERGENCE_FILE, read_convergence};
use replay_tune::score::{best_per_batch, score_pairs};

use crate::cli::{RateChoice, SweepArgs};

/// The learning rates of a sweep: `--learning-rates` as a list, or each workload's best rate
/// from the convergence file (`--convergence`, else `convergence.csv` in `--out`).
pub fn learning_rates(args: &SweepArgs) -> Result<LearningRates> {
    let tuned = args.learning_rates.contains(&RateChoice::Tuned);
    if !tuned {
        let rates = args
            .learning_rates
            .iter()
            .filter_map(|choice| match choice {
                RateChoice::Rate(rate) => Some(*rate),
                RateChoice::Tuned => None,
            })
            .collect();
        return Ok(LearningRates::Each(rates));
    }
    if args.learning_rates.len() > 1 {
        bail!("--learning-rates: 'tuned' stands alone; give it, or a list of rates");
    }
    let path = args
        .convergence
        .clone()
        .unwrap_or_else(|| args.common.out.join(CONVERGENCE_FILE));
    tuned_rates(&path).with_context(|| "--learning-rates tuned".to_string())
}

/// The best rate of each (dataset, width, batch size) that converged in the file at `path`.
fn tuned_rates(path: &Path) -> Result<LearningRates> {
    let rows = read_convergence(path, None)?;
    if rows.is_empty() {
        bail!(
            "'{}' holds no convergence runs; make it with `runner tune --dataset D \
             --hidden-units H --target-accuracy P --out {}` (or name another with --convergence)",
            path.display(),
            path.parent()
                .map_or_else(|| ".".into(), |p| p.display().to_string())
        );
    }
    let mut workloads: BTreeMap<(Dataset, usize), Vec<_>> = BTreeMap::new();
    for row in rows {
        let dataset: Dataset = row
            .dataset
            .parse()
            .with_context(|| format!("'{}'", path.display()))?;
        workloads
            .entry((dataset, row.hidden_units as usize))
            .or_default()
            .push(row);
    }
    let mut rates = BTreeMap::new();
    for ((dataset, hidden_units), rows) in workloads {
        for best in best_per_batch(&score_pairs(&rows)) {
            rates.insert(
                (dataset, hidden_units, best.batch_size as usize),
                best.learning_rate,
            );
        }
    }
    Ok(LearningRates::Tuned(TunedRates {
        source: path.to_path_buf(),
        rates,
    }))
}

/// One line for a Burn run at a batch size above 1 with the study's batch-1 rate, which
/// barely trains: bigger batches need bigger rates, and how to find one.
pub fn rate_hint(s: &RunSettings) -> Option<String> {
    (s.implementation == Implementation::Burn
        && s.batch_size > 1
        && s.learning_rate == DEFAULT_LEARNING_RATE)
        .then(|| {
            format!(
                "note: rate {DEFAULT_LEARNING_RATE} is the study's rate for batch size 1; batch \
                 size {} learns far slower with it (bigger batches need bigger rates). Find one: \
                 runner tune --dataset {} --hidden-units {} --batch-sizes {} --target-accuracy P",
                s.batch_size, s.dataset, s.hidden_units, s.batch_size
            )
        })
}
