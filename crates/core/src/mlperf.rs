//! MLPerf Training's scoring of a result's runs to a quality target, the one rule that
//! `runner tune` (images to target) and the report (time to target) both score by.

/// Which runs MLPerf Training averages, given each run's measure to target (images or seconds;
/// `None`: a run that missed the target), as indices in increasing order of the measure.
///
/// From three runs on, the run with the least and the one with the most are dropped and the
/// rest averaged, a miss counting as the most (so one miss is the one dropped at the top); two
/// misses or more: `None`, the result did not converge. With one or two runs nothing can be
/// dropped: all of them, or `None` if any missed. No runs: `None`.
pub fn mlperf_kept(measures: &[Option<f64>]) -> Option<Vec<usize>> {
    let n = measures.len();
    let misses = measures.iter().filter(|m| m.is_none()).count();
    if n == 0 || misses >= 2 || (n < 3 && misses > 0) {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| match (measures[a], measures[b]) {
        (Some(x), Some(y)) => x.total_cmp(&y),
        (a, b) => a.is_none().cmp(&b.is_none()),
    });
    if n < 3 {
        return Some(order);
    }
    Some(order[1..n - 1].to_vec())
}

/// The MLPerf mean of the runs' measures ([`mlperf_kept`]'s runs averaged); `None` where the
/// result did not converge.
pub fn mlperf_mean(measures: &[Option<f64>]) -> Option<f64> {
    let kept = mlperf_kept(measures)?;
    let sum: f64 = kept.iter().filter_map(|&i| measures[i]).sum();
    Some(sum / kept.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_least_and_the_most_are_dropped_and_a_miss_is_the_most() {
        let all = |v: &[f64]| v.iter().copied().map(Some).collect::<Vec<_>>();
        assert_eq!(
            mlperf_kept(&all(&[30.0, 10.0, 20.0, 50.0, 40.0])),
            Some(vec![2, 0, 4])
        );
        assert_eq!(
            mlperf_mean(&all(&[30.0, 10.0, 20.0, 50.0, 40.0])),
            Some(30.0)
        );
        assert_eq!(
            mlperf_kept(&[Some(30.0), None, Some(10.0), Some(20.0)]),
            Some(vec![3, 0])
        );
        assert_eq!(
            mlperf_mean(&[Some(30.0), None, Some(10.0), Some(20.0)]),
            Some(25.0)
        );
        assert_eq!(mlperf_mean(&[Some(30.0), None, Some(10.0), None]), None);
        assert_eq!(mlperf_mean(&all(&[5.0, 7.0])), Some(6.0));
        assert_eq!(mlperf_mean(&[Some(5.0), None]), None);
        assert_eq!(mlperf_mean(&all(&[5.0])), Some(5.0));
        assert_eq!(mlperf_mean(&[]), None);
        assert_eq!(mlperf_kept(&[Some(1.0), Some(2.0), None]), Some(vec![1]));
    }
}
