//! The `throttle_method` text of a results row, split into the method and a time slice's
//! measured miss.
//!
//! The backend writes an epoch's `throttle_method` (`replay_backend`'s
//! `EpochGuard::throttle_method`) as the run's method (`time-slice`, `spatial (1 of 2 units)`,
//! `none`, ... with ` + memory cap` where the device's memory is known) and, where a time
//! slice missed the share by more than its tolerance, the miss in brackets right after the
//! method's name: `time-slice (busy 0.43, 2.35x the unthrottled time) + memory cap`. The miss
//! (its `Miss` display) always starts with [`MISS_START`]. The method is the same for every
//! epoch of a run; the miss is measured per epoch.

/// What the bracketed miss of a time slice starts with: `busy 0.43` (the share of the epoch's
/// wall time the device was busy), then, where known, `, 2.35x the unthrottled time`.
pub(crate) const MISS_START: &str = "busy ";

/// `text` split into the method (the text without the miss: `time-slice + memory cap`) and
/// the miss (`busy 0.43, 2.35x the unthrottled time`), `None` where the text has none. Text
/// with no bracket that opens with [`MISS_START`] and closes is all method.
pub(crate) fn split_miss(text: &str) -> (String, Option<&str>) {
    let opening = format!(" ({MISS_START}");
    let Some(open) = text.find(&opening) else {
        return (text.to_string(), None);
    };
    let start = open + 2;
    let Some(length) = text[start..].find(')') else {
        return (text.to_string(), None);
    };
    let end = start + length;
    let method = format!("{}{}", &text[..open], &text[end + 1..]);
    (method, Some(&text[start..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_slice_miss_is_split_from_its_method_and_other_methods_are_kept_whole() {
        let cases = [
            (
                "time-slice (busy 0.43, 2.35x the unthrottled time)",
                "time-slice",
                Some("busy 0.43, 2.35x the unthrottled time"),
            ),
            (
                "time-slice (busy 0.50, 2.61x the unthrottled time) + memory cap",
                "time-slice + memory cap",
                Some("busy 0.50, 2.61x the unthrottled time"),
            ),
            ("time-slice (busy 0.43)", "time-slice", Some("busy 0.43")),
            ("time-slice + memory cap", "time-slice + memory cap", None),
            (
                "spatial (1 of 2 units, assumed)",
                "spatial (1 of 2 units, assumed)",
                None,
            ),
            ("none (runs on the CPU)", "none (runs on the CPU)", None),
            ("time-slice (busy 0.43", "time-slice (busy 0.43", None),
            ("", "", None),
        ];
        for (text, method, miss) in cases {
            assert_eq!(split_miss(text), (method.to_string(), miss), "{text}");
        }
    }
}
