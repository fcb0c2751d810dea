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

/// This machine's host name up to its first dot, with every character other than a letter,
/// digit or `_` replaced by `_` (`node-17.cluster` -> `node_17`): it names the machine in run
/// ids, whose parts are separated by `-`. `unknown` when the OS does not say.
pub fn host_name() -> String {
    let mut name = String::new();
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: gethostname writes at most buf.len() bytes into our buffer.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            name = String::from_utf8_lossy(&buf[..end]).into_owned();
        }
    }
    let short = name.split('.').next().unwrap_or_default();
    if short.is_empty() {
        return "unknown".to_string();
    }
    short
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The CPU cores this process may run on, ascending (every core when the OS does not say).
pub fn allowed_cores() -> Vec<usize> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a zeroed cpu_set_t is a valid empty set; sched_getaffinity writes into it.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: pid 0 is the calling thread; the size is the set's.
        let rc = unsafe { libc::sched_getaffinity(0, std::mem::size_of_val(&set), &mut set) };
        if rc == 0 {
            // SAFETY: CPU_ISSET reads a bit of the set the kernel filled.
            return (0..libc::CPU_SETSIZE as usize)
                .filter(|&core| unsafe { libc::CPU_ISSET(core, &set) })
                .collect();
        }
    }
    (0..host_cores()).collect()
}

/// The first `n` of the `allowed` cores, or `None` when fewer than `n` are allowed.
pub fn first_cores(allowed: &[usize], n: usize) -> Option<Vec<usize>> {
    (n >= 1 && allowed.len() >= n).then(|| allowed[..n].to_vec())
}

/// Pins every thread of this process, and every thread it starts later, to `cores` (Linux;
/// elsewhere nothing happens and the result is `Ok(false)`).
pub fn pin_process(cores: &[usize]) -> std::io::Result<bool> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a zeroed cpu_set_t is a valid empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        for &core in cores {
            // SAFETY: CPU_SET writes a bit of our own set; cores come from the allowed list.
            unsafe { libc::CPU_SET(core, &mut set) };
        }
        // Threads inherit their creator's affinity: pin every existing one (the driver's
        // included); those started later follow.
        let tasks = std::fs::read_dir("/proc/self/task")?;
        for task in tasks {
            let tid: libc::pid_t = match task?.file_name().to_string_lossy().parse() {
                Ok(tid) => tid,
                Err(_) => continue,
            };
            // SAFETY: sched_setaffinity reads the set; a thread that ended meanwhile fails
            // with ESRCH, which is ignored.
            let rc = unsafe { libc::sched_setaffinity(tid, std::mem::size_of_val(&set), &set) };
            if rc != 0 {
                let error = std::io::Error::last_os_error();
                if error.raw_os_error() != Some(libc::ESRCH) {
                    return Err(error);
                }
            }
        }
        Ok(true)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = cores;
        Ok(false)
    }
}

/// Cores as a short list: `0-3`, `0,2,5`.
pub fn cores_text(cores: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < cores.len() {
        let mut j = i;
        while j + 1 < cores.len() && cores[j + 1] == cores[j] + 1 {
            j += 1;
        }
        parts.push(if j > i {
            format!("{}-{}", cores[i], cores[j])
        } else {
            cores[i].to_string()
        });
        i = j + 1;
    }
    parts.join(",")
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
    fn the_host_name_has_no_dashes_or_dots() {
        let name = host_name();
        assert!(!name.is_empty());
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{name}"
        );
    }

    #[test]
    fn the_first_cores_of_the_allowed_ones_are_pinned_when_there_are_enough() {
        assert_eq!(first_cores(&[0, 1, 2, 3, 4], 4), Some(vec![0, 1, 2, 3]));
        assert_eq!(first_cores(&[2, 5], 4), None);
        assert_eq!(first_cores(&[2, 5], 1), Some(vec![2]));
        assert_eq!(cores_text(&[0, 1, 2, 3]), "0-3");
        assert_eq!(cores_text(&[0, 2, 3, 7]), "0,2-3,7");
        assert!(!allowed_cores().is_empty());
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
