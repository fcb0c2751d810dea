//! Facts about the machine the replay runs on, and this process's CPU time and peak memory
//! as `%%time` and `getrusage` report them.

use std::num::NonZeroUsize;
use std::time::Duration;

/// The host's logical cores as the OS reports them (1 when unknown).
pub fn host_cores() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// The host's RAM in bytes (from /proc/meminfo), where the OS tells.
pub fn host_memory_bytes() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|line| line.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

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

/// A snapshot of the process's resource usage.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Usage {
    /// CPU time spent in user mode, all threads together.
    pub user: Duration,
    /// CPU time spent in the kernel on the process's behalf, all threads together.
    pub sys: Duration,
    /// Peak resident set size of the process so far, in MiB.
    pub peak_rss_mib: f64,
}

impl Usage {
    /// The process's usage now (zeros if the OS refuses to say).
    pub fn now() -> Self {
        // SAFETY: getrusage only writes into the zeroed struct we pass it.
        let mut raw: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: RUSAGE_SELF with a valid pointer to a rusage struct.
        let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut raw) };
        if rc != 0 {
            return Self::default();
        }
        let time = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec.max(0) as u64)
                + Duration::from_micros(t.tv_usec.max(0) as u64)
        };
        // Linux reports ru_maxrss in KiB; macOS in bytes.
        let rss_kib = if cfg!(target_os = "macos") {
            raw.ru_maxrss as f64 / 1024.0
        } else {
            raw.ru_maxrss as f64
        };
        Self {
            user: time(raw.ru_utime),
            sys: time(raw.ru_stime),
            peak_rss_mib: rss_kib / 1024.0,
        }
    }

    /// CPU time used since `earlier` (the peak memory is this snapshot's).
    pub fn since(&self, earlier: &Usage) -> Usage {
        Usage {
            user: self.user.saturating_sub(earlier.user),
            sys: self.sys.saturating_sub(earlier.sys),
            peak_rss_mib: self.peak_rss_mib,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_facts_are_never_empty() {
        assert!(!cpu_model().is_empty());
        assert!(host_cores() >= 1);
    }

    #[test]
    fn busy_work_shows_up_as_user_time_and_memory_as_rss() {
        let before = Usage::now();
        let mut x = 0u64;
        let start = std::time::Instant::now();
        while start.elapsed() < Duration::from_millis(200) {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let used = Usage::now().since(&before);
        assert!(used.user >= Duration::from_millis(50), "{used:?}");
        assert!(used.peak_rss_mib > 1.0, "{used:?}");
    }
}
