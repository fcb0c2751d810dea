//! CPU time and peak memory of this process, as `%%time` and `getrusage` report them.

use std::time::Duration;

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
