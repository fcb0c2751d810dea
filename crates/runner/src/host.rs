//! Facts about the machine the replay runs on, recorded with every result.

/// The CPU's model name (from /proc/cpuinfo on Linux), or the architecture when unknown.
pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, name)| name.split_whitespace().collect::<Vec<_>>().join(" "))
        })
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// This tool's version: the crate version and, when built from a git checkout, the commit.
pub fn version() -> String {
    match option_env!("REPLAY_GIT_COMMIT") {
        Some(commit) if !commit.is_empty() => format!("{} ({commit})", env!("CARGO_PKG_VERSION")),
        _ => env!("CARGO_PKG_VERSION").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_are_never_empty() {
        assert!(!cpu_model().is_empty());
        assert!(version().starts_with(env!("CARGO_PKG_VERSION")));
    }
}
