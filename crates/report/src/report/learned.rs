//! Whether a group's model learned: its test accuracy beside the best its workload reached, so
//! that nobody ranks the time of a model that did not learn (a learning rate that does not
//! suit its batch size: at batch 256 and the study's rate 0.1, the study's network is at a
//! quarter of its accuracy after an epoch).

use serde::Serialize;

use super::group::GroupReport;

/// How far below its workload's reference a group's accuracy may be, in percentage points,
/// and still count as learned.
///
/// Five points is well above what separates models that learned alike (between seeds, the
/// two implementations and the study's platforms, the replay's accuracies after one epoch of
/// the study's workload lie within about three points: 91.0 % to 93.8 %), and far below the
/// gap of a model that did not learn (its rate too small for its batch: 25 % to 70 % against
/// 91 %, a gap of 20 to 65 points).
pub const LEARNED_WITHIN_POINTS: f64 = 5.0;

/// A group's accuracy beside the reference of its workload (dataset and hidden units).
///
/// The reference is the best median test accuracy any group of the same dataset and hidden
/// units reached after at most as many epochs as this group's last: what the workload
/// reaches at the best rate the results hold, in as much training. The results are all the
/// report knows of a tuned rate; a workload whose every group ran at an untuned rate has a
/// low reference, so its groups compare only with each other.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Learning {
    /// The group's median test accuracy after its last evaluated epoch, a fraction.
    pub accuracy: f64,
    /// That epoch, from 1.
    pub epoch: u32,
    /// The reference: the best median test accuracy of the workload's groups after at most
    /// `epoch` epochs, a fraction.
    pub reference: f64,
    /// The label of the group that reached the reference.
    pub reference_label: String,
    /// Whether the group learned: its accuracy at most [`LEARNED_WITHIN_POINTS`] below the
    /// reference, or its runs reached their target accuracy (scored, [`crate::TargetReport`]).
    pub learned: bool,
}

/// The group's last epoch with a test accuracy, and that accuracy.
fn last_accuracy(g: &GroupReport) -> Option<(u32, f64)> {
    g.epochs
        .iter()
        .rev()
        .find_map(|e| Some((e.epoch, e.test_accuracy?)))
}

/// Sets every group's [`GroupReport::learning`], comparing it with the groups of its
/// workload (in `groups`, labelled).
pub(super) fn assess(groups: &mut [GroupReport]) {
    let learning: Vec<Option<Learning>> = groups
        .iter()
        .map(|g| {
            let (epoch, accuracy) = last_accuracy(g)?;
            let (best, reference) = groups
                .iter()
                .filter(|h| h.dataset == g.dataset && h.hidden_units == g.hidden_units)
                .flat_map(|h| {
                    h.epochs
                        .iter()
                        .filter(|e| e.epoch <= epoch)
                        .filter_map(move |e| Some((h, e.test_accuracy?)))
                })
                .max_by(|a, b| a.1.total_cmp(&b.1))?;
            let reached = g.to_target.as_ref().is_some_and(|t| t.converged);
            // A hair of slack: 0.93 - 0.88 is 5.000000000000004 points in floating point.
            let close = (reference - accuracy) * 100.0 <= LEARNED_WITHIN_POINTS + 1e-9;
            Some(Learning {
                accuracy,
                epoch,
                reference,
                reference_label: best.label.clone(),
                learned: reached || close,
            })
        })
        .collect();
    for (g, learning) in groups.iter_mut().zip(learning) {
        g.learning = learning;
    }
}

impl GroupReport {
    /// Whether the group is known not to have learned (see [`Learning`]); false where there is
    /// no accuracy to tell.
    pub fn did_not_learn(&self) -> bool {
        self.learning.as_ref().is_some_and(|l| !l.learned)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::report::Report;
    use crate::report::tests::{row, set};

    #[test]
    fn a_group_far_below_its_workloads_best_did_not_learn() {
        let at = |run: &str, batch: u32, epoch: u32, accuracy: f64| {
            let mut r = row(run, "c1.4", "burn", epoch, 1.0, 0.1, accuracy);
            r.batch_size = batch;
            r
        };
        let mut fashion = at("f", 256, 1, 0.33);
        fashion.dataset = "fashion-mnist".to_string();
        let rows = vec![
            at("a", 1, 1, 0.91),
            at("b", 32, 1, 0.88),
            at("c", 256, 1, 0.27),
            // Two epochs: 97 % is not the reference of one-epoch groups.
            at("d", 8, 1, 0.93),
            at("d", 8, 2, 0.97),
            fashion,
        ];
        let report = Report::build(&set(rows), &[]);
        let by_batch = |dataset: &str, batch: u32| {
            report
                .groups
                .iter()
                .find(|g| g.batch_size == batch && g.dataset == dataset)
                .unwrap()
        };
        let learning = |batch: u32| by_batch("mnist", batch).learning.clone().unwrap();
        assert!(learning(1).learned, "2 points below 93 %");
        assert!(learning(32).learned, "exactly 5 points below");
        let c = learning(256);
        assert!(!c.learned);
        assert_eq!((c.accuracy, c.reference, c.epoch), (0.27, 0.93, 1));
        assert_eq!(c.reference_label, by_batch("mnist", 8).label);
        assert!(by_batch("mnist", 256).did_not_learn());
        assert!(learning(8).learned);
        assert_eq!(learning(8).reference, 0.97);
        // Alone in its workload, a group is its own reference.
        assert!(
            by_batch("fashion-mnist", 256)
                .learning
                .clone()
                .unwrap()
                .learned
        );
    }
}
