//! Property tests: whatever a configuration file holds, loading it gives a configuration or
//! an error naming the file, never a panic.
#![allow(clippy::unwrap_used)]

use proptest::prelude::*;
use replay_platform::Config;

fn shipped() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../configs");
    replay_platform::config_files(dir)
        .unwrap()
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_text_gives_an_error_not_a_panic(text in ".{0,400}") {
        if let Err(e) = Config::from_str(&text, "fuzz.toml") {
            prop_assert!(e.to_string().contains("fuzz.toml"), "{}", e);
        }
    }

    #[test]
    fn a_shipped_file_with_a_line_changed_loads_or_names_the_file(
        file in 0usize..15,
        line in 0usize..60,
        replacement in prop_oneof![
            Just(String::new()),
            "[a-z_.]{1,12} = [-0-9.e]{1,8}",
            "[a-z_.]{1,12} = \"[A-Za-z0-9 ]{0,8}\"",
            "\\[[a-z.]{1,12}\\]",
            ".{0,30}",
        ],
    ) {
        let files = shipped();
        let text = &files[file % files.len()];
        let mut lines: Vec<&str> = text.lines().collect();
        let at = line % lines.len();
        lines[at] = &replacement;
        if let Err(e) = Config::from_str(&lines.join("\n"), "edited.toml") {
            prop_assert!(e.to_string().contains("edited.toml"), "{}", e);
        }
    }
}
