//! Many runs at once: one worker thread per core, each training one run at a time on a rayon
//! pool of one thread. For the study's tiny network a step has too little work to share
//! between threads (the fused step runs steps below 8,192 batch x hidden units on one thread
//! anyway), so independent runs side by side use the cores best.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};

use replay_backend::{Device, ThreadPool};

use super::{Data, RunOutcome, RunSpec, train_to_target};
use crate::error::TuneError;

/// A run to make, tagged with the group (pair) it belongs to, so that a group can be called
/// off when its result is already known.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Job {
    /// The group: an index below the number of groups given to [`run_parallel`].
    pub group: usize,
    /// The run.
    pub spec: RunSpec,
}

/// Runs `jobs` on `workers` threads, in order, handing each finished run to `finished` on the
/// calling thread (as they finish). `finished` returns the groups to call off: their queued
/// jobs are dropped and their running ones stopped, unreported. The first error (of a run or
/// of `finished`) stops everything and is returned.
pub fn run_parallel(
    workers: usize,
    device: &Device,
    data: Data<'_>,
    groups: usize,
    jobs: Vec<Job>,
    mut finished: impl FnMut(&Job, &RunOutcome) -> Result<Vec<usize>, TuneError>,
) -> Result<(), TuneError> {
    let queue = Mutex::new(VecDeque::from(jobs));
    let called_off: Vec<AtomicBool> = (0..groups).map(|_| AtomicBool::new(false)).collect();
    let abort = AtomicBool::new(false);
    let mut first_error = None;
    std::thread::scope(|scope| {
        let (sender, results) = mpsc::channel();
        for _ in 0..workers.max(1) {
            let sender = sender.clone();
            let device = device.clone();
            let (queue, called_off, abort) = (&queue, &called_off, &abort);
            scope.spawn(move || {
                let pool = match ThreadPool::sequential(1) {
                    Ok(pool) => pool,
                    Err(e) => {
                        let _ = sender.send(Err(TuneError::Worker(e.to_string())));
                        return;
                    }
                };
                loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                    let Some(job) = next else { break };
                    let off = |job: &Job| {
                        abort.load(Ordering::Relaxed)
                            || called_off
                                .get(job.group)
                                .is_some_and(|c| c.load(Ordering::Relaxed))
                    };
                    if off(&job) {
                        continue;
                    }
                    let stop = || off(&job);
                    let outcome = pool.install(|| train_to_target(&device, data, &job.spec, &stop));
                    if sender.send(outcome.map(|o| o.map(|o| (job, o)))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(sender);
        for result in results {
            let outcome = match result {
                Ok(Some((job, outcome))) => finished(&job, &outcome),
                Ok(None) => Ok(Vec::new()),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(groups) => {
                    for group in groups {
                        if let Some(flag) = called_off.get(group) {
                            flag.store(true, Ordering::Relaxed);
                        }
                    }
                }
                Err(e) => {
                    abort.store(true, Ordering::Relaxed);
                    first_error.get_or_insert(e);
                }
            }
        }
    });
    first_error.map_or(Ok(()), Err)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::train::open_fastest;
    use replay_core::Dataset;
    use replay_mnist::testutil::synthetic_split;
    use replay_model::Samples;

    #[test]
    fn runs_finish_in_parallel_and_a_group_called_off_reports_no_more() {
        let train = synthetic_split(Dataset::Mnist, 20_000, true);
        let test = synthetic_split(Dataset::Mnist, 50, true);
        let data = Data {
            train: Samples::new(train.pixels(), train.labels()).unwrap(),
            test: Samples::new(test.pixels(), test.labels()).unwrap(),
        };
        let (device, _) = open_fastest().unwrap();
        // Quick: one epoch at most, likely to reach 50 % within the first thousand images.
        let quick = |seed| RunSpec {
            hidden_units: 8,
            batch_size: 2,
            learning_rate: 0.4,
            seed,
            epochs: 1,
            target_accuracy: 0.5,
            eval_every: 1_000,
        };
        // Long: a rate too small to learn, trained for two epochs before it is found hopeless.
        let long = |seed| RunSpec {
            learning_rate: 1e-4,
            epochs: 1_000,
            target_accuracy: 0.999,
            ..quick(seed)
        };
        // Group 0's first result (quick seed 1) calls it off while long seed 2 runs and long
        // seed 3 waits or starts: neither reports. Group 1 runs whole.
        let jobs: Vec<Job> = (1..=6)
            .map(|seed| Job {
                group: usize::from(seed > 3),
                spec: if seed == 2 || seed == 3 {
                    long(seed)
                } else {
                    quick(seed)
                },
            })
            .collect();
        let mut seen = Vec::new();
        run_parallel(2, &device, data, 2, jobs, |job, _| {
            seen.push((job.group, job.spec.seed));
            Ok(if job.group == 0 { vec![0] } else { vec![] })
        })
        .unwrap();
        let group0: Vec<u64> = seen.iter().filter(|(g, _)| *g == 0).map(|s| s.1).collect();
        let group1 = seen.iter().filter(|(g, _)| *g == 1).count();
        assert_eq!(group0, [1], "{seen:?}");
        assert_eq!(group1, 3, "{seen:?}");
        // An error stops everything and is returned.
        let jobs = (1..=4)
            .map(|seed| Job {
                group: 0,
                spec: quick(seed),
            })
            .collect();
        let err = run_parallel(2, &device, data, 1, jobs, |_, _| {
            Err(TuneError::Worker("disk full".into()))
        })
        .unwrap_err();
        assert!(err.to_string().contains("disk full"));
    }
}
