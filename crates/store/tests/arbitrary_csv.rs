//! Property tests: whatever a results CSV holds, reading its folder gives the valid rows and
//! a problem for each bad line, never a panic.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use replay_store::{HeaderVersion, read_results};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn arbitrary_bytes_give_problems_not_a_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.csv"), &bytes).unwrap();
        let set = read_results(dir.path()).unwrap();
        prop_assert!(set.rows.is_empty() || bytes.starts_with(b"run_id"));
    }

    #[test]
    fn lines_under_a_real_header_give_valid_rows_or_problems(
        version in 0..3usize,
        lines in proptest::collection::vec("[a-z0-9.,\" -]{0,120}", 0..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let header = HeaderVersion::ALL[version].columns();
        let text = format!("{}\n{}", header.join(","), lines.join("\n"));
        std::fs::write(dir.path().join("x.csv"), text).unwrap();
        let set = read_results(dir.path()).unwrap();
        for row in &set.rows {
            prop_assert!(row.check().is_ok());
        }
        prop_assert!(set.rows.len() + set.problems.len() <= lines.len() + 1);
    }
}
