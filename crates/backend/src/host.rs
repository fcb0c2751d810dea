//! Facts about the machine the replay runs on, and this process's CPU time and peak memory
//! as `%%time` and `getrusage` report them. The OS calls go through `nix`'s safe bindings.

use std::num::NonZeroUsize;
use std::sync::OnceLock;
use std::time::Duration;

/// Why pinning the process to some cores failed.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    /// A core number beyond what an affinity mask can name.
    #[error("core {core} is beyond the {max} cores an affinity mask can name")]
    CoreOutOfRange {
        /// The core asked for.
        core: usize,
        /// How many cores a mask names (cores 0 to max - 1).
        max: usize,
    },
    /// The process's threads could not be listed.
    #[error("listing the process's threads in /proc/self/task: {0}")]
    Threads(#[source] std::io::Error),
    /// The kernel refused the new affinity of one thread.
    #[error("sched_setaffinity of thread {tid} to cores {cores}: {source}")]
    SetAffinity {
        /// The thread's id.
        tid: i32,
        /// The cores asked for, as [`cores_text`] writes them.
        cores: String,
        /// The kernel's answer.
        #[source]
        source: std::io::Error,
    },
}

/// What the OS said about this process's cores the first time it was asked, before any
/// [`pin_process`] narrowed them.
struct OriginalCores {
    /// The affinity mask's cores (every core when the OS does not say).
    cores: Vec<usize>,
    /// `available_parallelism`: the mask's cores within any cgroup quota (1 when unknown).
    available: usize,
}

fn original() -> &'static OriginalCores {
    static ORIGINAL: OnceLock<OriginalCores> = OnceLock::new();
    ORIGINAL.get_or_init(|| {
        let available = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let cores = allowed_cores();
        OriginalCores {
            cores: if cores.is_empty() {
                (0..available).collect()
            } else {
                cores
            },
            available,
        }
    })
}

/// The cores this process could run on before any [`pin_process`] narrowed them, ascending.
pub fn original_cores() -> &'static [usize] {
    &original().cores
}

/// The host's logical cores as the OS reports them to this process (within its affinity mask
/// and cgroup quota; 1 when unknown), as they were before any [`pin_process`]: pinning narrows
/// what the OS reports, and this stays the host's number.
pub fn host_cores() -> usize {
    original().available
}

/// The host's RAM in bytes (from /proc/meminfo), where the OS tells.
pub fn host_memory_bytes() -> Option<u64> {
    memory_bytes_from(&std::fs::read_to_string("/proc/meminfo").ok()?)
}

/// `MemTotal` of a /proc/meminfo text, in bytes.
fn memory_bytes_from(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|line| line.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// This machine's host name up to its first dot, with every character other than a letter,
/// digit or `_` replaced by `_` (`node-17.cluster` -> `node_17`): it names the machine in run
/// ids, whose parts are separated by `-`. `unknown` when the OS does not say.
pub fn host_name() -> String {
    #[cfg(unix)]
    let name = nix::unistd::gethostname()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    #[cfg(not(unix))]
    let name = String::new();
    short_host_name(&name)
}

/// The part of a host name before its first dot, with every character other than a letter,
/// digit or `_` replaced by `_`; `unknown` when that is empty.
fn short_host_name(name: &str) -> String {
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

/// The CPU cores this process may run on now, ascending (empty when the OS does not say).
pub fn allowed_cores() -> Vec<usize> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use nix::sched::{CpuSet, sched_getaffinity};
        use nix::unistd::Pid;
        // Pid 0: the calling thread.
        if let Ok(set) = sched_getaffinity(Pid::from_raw(0)) {
            return (0..CpuSet::count())
                .filter(|&core| set.is_set(core).unwrap_or(false))
                .collect();
        }
    }
    Vec::new()
}

/// The first `n` of the `allowed` cores, or `None` when fewer than `n` are allowed.
pub fn first_cores(allowed: &[usize], n: usize) -> Option<Vec<usize>> {
    (n >= 1 && allowed.len() >= n).then(|| allowed[..n].to_vec())
}

/// Pins every thread of this process, and every thread it starts later, to `cores` (Linux;
/// elsewhere nothing happens and the result is `Ok(false)`). On an error some threads may be
/// pinned already: pin again (to [`original_cores`]) to undo it.
pub fn pin_process(cores: &[usize]) -> Result<bool, PinError> {
    // Remember what the process could run on before narrowing it.
    original_cores();
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use nix::errno::Errno;
        use nix::sched::{CpuSet, sched_setaffinity};
        use nix::unistd::Pid;

        let mut set = CpuSet::new();
        for &core in cores {
            set.set(core).map_err(|_| PinError::CoreOutOfRange {
                core,
                max: CpuSet::count(),
            })?;
        }
        // Threads inherit their creator's affinity: pin every existing one (the driver's
        // included); those started later follow.
        let tasks = std::fs::read_dir("/proc/self/task").map_err(PinError::Threads)?;
        for task in tasks {
            let task = task.map_err(PinError::Threads)?;
            let Ok(tid) = task.file_name().to_string_lossy().parse::<i32>() else {
                continue;
            };
            match sched_setaffinity(Pid::from_raw(tid), &set) {
                // A thread that ended since the listing.
                Ok(()) | Err(Errno::ESRCH) => {}
                Err(errno) => {
                    return Err(PinError::SetAffinity {
                        tid,
                        cores: cores_text(cores),
                        source: errno.into(),
                    });
                }
            }
        }
        Ok(true)
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = cores;
        Ok(false)
    }
}

/// How the process was pinned for a configuration's vCPUs; its `Display` is the line a run
/// prints (`4 vCPUs: pinned to host cores 0-3`).
#[derive(Debug)]
pub enum Pinning {
    /// Every thread runs on these host cores, one per vCPU.
    Pinned {
        /// The cores, ascending.
        cores: Vec<usize>,
    },
    /// The process may run on fewer cores than the configuration has vCPUs: it runs on all
    /// of them.
    TooFewCores {
        /// The configuration's vCPUs.
        vcpus: usize,
        /// The cores the process may run on.
        cores: usize,
    },
    /// This OS offers no way to pin threads (pinning is Linux-only).
    Unsupported {
        /// The configuration's vCPUs.
        vcpus: usize,
    },
    /// The OS refused to pin: the run goes on, on the cores it was left on.
    Failed {
        /// The configuration's vCPUs.
        vcpus: usize,
        /// The cores asked for.
        cores: Vec<usize>,
        /// What failed.
        error: PinError,
        /// The cores the process runs on after the attempt (empty when the OS does not say).
        running_on: Vec<usize>,
    },
}

impl Pinning {
    /// The cores the process is pinned to, when pinning succeeded.
    pub fn cores(&self) -> Option<&[usize]> {
        match self {
            Pinning::Pinned { cores } => Some(cores),
            _ => None,
        }
    }
}

impl std::fmt::Display for Pinning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let vcpus = |n: usize| plural(n, "vCPU", "vCPUs");
        let cores_named = |cores: &[usize]| {
            let word = if cores.len() == 1 { "core" } else { "cores" };
            format!("host {word} {}", cores_text(cores))
        };
        match self {
            Pinning::Pinned { cores } => {
                write!(
                    f,
                    "{}: pinned to {}",
                    vcpus(cores.len()),
                    cores_named(cores)
                )
            }
            Pinning::TooFewCores { vcpus: n, cores } => write!(
                f,
                "{}: not pinned, the host has {}",
                vcpus(*n),
                plural(*cores, "core", "cores")
            ),
            Pinning::Unsupported { vcpus: n } => write!(
                f,
                "{}: not pinned, this OS cannot pin threads to cores",
                vcpus(*n)
            ),
            Pinning::Failed {
                vcpus: n,
                cores,
                error,
                running_on,
            } => {
                write!(
                    f,
                    "{}: NOT pinned, pinning to {} failed: {error}",
                    vcpus(*n),
                    cores_named(cores)
                )?;
                if running_on.is_empty() {
                    Ok(())
                } else {
                    write!(f, "; running on {}", cores_named(running_on))
                }
            }
        }
    }
}

/// Pins the process to the first `vcpus` of the cores it could originally run on, where it
/// has that many; otherwise (or when that fails) lets it run on all of them again, undoing an
/// earlier, narrower pin of the same process.
pub fn pin_vcpus(vcpus: usize) -> Pinning {
    pin_vcpus_with(vcpus, original_cores(), pin_process)
}

/// [`pin_vcpus`] with the cores to choose from and the pinning function given.
fn pin_vcpus_with(
    vcpus: usize,
    allowed: &[usize],
    mut pin: impl FnMut(&[usize]) -> Result<bool, PinError>,
) -> Pinning {
    let Some(cores) = first_cores(allowed, vcpus) else {
        return match pin(allowed) {
            Ok(true) => Pinning::TooFewCores {
                vcpus,
                cores: allowed.len(),
            },
            Ok(false) => Pinning::Unsupported { vcpus },
            Err(error) => Pinning::Failed {
                vcpus,
                cores: allowed.to_vec(),
                error,
                running_on: allowed_cores(),
            },
        };
    };
    match pin(&cores) {
        Ok(true) => Pinning::Pinned { cores },
        Ok(false) => Pinning::Unsupported { vcpus },
        Err(error) => {
            // Some threads may be pinned already: widen them again; if that fails too, the
            // cores the process is left on say so.
            let _ = pin(allowed);
            Pinning::Failed {
                vcpus,
                cores,
                error,
                running_on: allowed_cores(),
            }
        }
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
    cpu_model_from(std::fs::read_to_string("/proc/cpuinfo").ok().as_deref())
}

/// The first `model name` of a /proc/cpuinfo text with its runs of blanks squeezed, or the
/// architecture when there is none.
fn cpu_model_from(cpuinfo: Option<&str>) -> String {
    cpuinfo
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
        #[cfg(unix)]
        {
            use nix::sys::resource::{UsageWho, getrusage};
            use nix::sys::time::TimeVal;
            let Ok(raw) = getrusage(UsageWho::RUSAGE_SELF) else {
                return Self::default();
            };
            let time = |t: TimeVal| {
                Duration::from_secs(u64::try_from(t.tv_sec()).unwrap_or(0))
                    + Duration::from_micros(u64::try_from(t.tv_usec()).unwrap_or(0))
            };
            // Linux reports ru_maxrss in KiB; macOS in bytes.
            let rss_kib = if cfg!(target_os = "macos") {
                raw.max_rss() as f64 / 1024.0
            } else {
                raw.max_rss() as f64
            };
            Self {
                user: time(raw.user_time()),
                sys: time(raw.system_time()),
                peak_rss_mib: rss_kib / 1024.0,
            }
        }
        #[cfg(not(unix))]
        Self::default()
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
    fn the_cpu_model_is_the_first_model_name_or_the_architecture() {
        let info = "processor\t: 0\nmodel name\t: Intel(R)  Xeon(R)   CPU\nmodel name\t: Other\n";
        assert_eq!(cpu_model_from(Some(info)), "Intel(R) Xeon(R) CPU");
        let arch = std::env::consts::ARCH;
        assert_eq!(cpu_model_from(None), arch);
        assert_eq!(cpu_model_from(Some("processor\t: 0\n")), arch);
        assert_eq!(cpu_model_from(Some("model name\t:   \n")), arch);
        assert_eq!(cpu_model_from(Some("model name without a colon\n")), arch);
    }

    #[test]
    fn the_memory_is_memtotal_in_bytes_where_meminfo_has_it() {
        let info = "MemFree:   100 kB\nMemTotal:       16384 kB\n";
        assert_eq!(memory_bytes_from(info), Some(16384 * 1024));
        assert_eq!(memory_bytes_from("MemFree: 100 kB\n"), None);
        assert_eq!(memory_bytes_from("MemTotal: lots kB\n"), None);
        assert_eq!(
            memory_bytes_from(&format!("MemTotal: {} kB\n", u64::MAX)),
            None
        );
        if cfg!(target_os = "linux") {
            assert!(host_memory_bytes().is_some_and(|bytes| bytes > 0));
        }
    }

    #[test]
    fn host_names_are_shortened_and_made_safe_for_run_ids() {
        assert_eq!(short_host_name("node-17.cluster.example"), "node_17");
        assert_eq!(short_host_name("gpu_box"), "gpu_box");
        assert_eq!(short_host_name("h\u{e9}te"), "h_te");
        assert_eq!(short_host_name(""), "unknown");
        assert_eq!(short_host_name(".local"), "unknown");
    }

    #[test]
    fn the_hosts_cores_are_those_the_process_may_run_on() {
        if cfg!(target_os = "linux") {
            let allowed = allowed_cores();
            assert!(!allowed.is_empty());
            assert!(
                allowed.windows(2).all(|pair| pair[0] < pair[1]),
                "{allowed:?}"
            );
            // Other tests of this process pin it: the cores now are some of the original ones.
            assert!(allowed.iter().all(|core| original_cores().contains(core)));
            assert!(host_cores() <= original_cores().len());
        }
        assert!(host_cores() >= 1);
    }

    #[test]
    fn the_host_name_is_the_kernels() {
        let name = host_name();
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "{name}"
        );
        if let Ok(kernel) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
            assert_eq!(name, short_host_name(kernel.trim()));
        }
    }

    #[test]
    fn the_first_cores_of_the_allowed_ones_are_pinned_when_there_are_enough() {
        assert_eq!(first_cores(&[0, 1, 2, 3, 4], 4), Some(vec![0, 1, 2, 3]));
        assert_eq!(first_cores(&[2, 5], 4), None);
        assert_eq!(first_cores(&[2, 5], 1), Some(vec![2]));
        assert_eq!(cores_text(&[0, 1, 2, 3]), "0-3");
        assert_eq!(cores_text(&[0, 2, 3, 7]), "0,2-3,7");
        assert_eq!(cores_text(&[5]), "5");
        assert_eq!(cores_text(&[]), "");
    }

    fn refused() -> PinError {
        PinError::SetAffinity {
            tid: 42,
            cores: "0-3".to_string(),
            source: std::io::Error::from_raw_os_error(1),
        }
    }

    #[test]
    fn enough_cores_are_pinned_and_the_line_names_them() {
        let mut asked = Vec::new();
        let pinning = pin_vcpus_with(4, &[0, 1, 2, 3, 4, 5], |cores| {
            asked.push(cores.to_vec());
            Ok(true)
        });
        assert_eq!(asked, vec![vec![0, 1, 2, 3]]);
        assert_eq!(pinning.cores(), Some(&[0, 1, 2, 3][..]));
        assert_eq!(pinning.to_string(), "4 vCPUs: pinned to host cores 0-3");
        let one = pin_vcpus_with(1, &[3, 4], |_| Ok(true));
        assert_eq!(one.to_string(), "1 vCPU: pinned to host core 3");
    }

    #[test]
    fn too_few_cores_run_on_all_of_them_and_say_the_host_has_too_few() {
        let mut asked = Vec::new();
        let pinning = pin_vcpus_with(32, &[0, 1], |cores| {
            asked.push(cores.to_vec());
            Ok(true)
        });
        assert_eq!(
            asked,
            vec![vec![0, 1]],
            "an earlier, narrower pin is undone"
        );
        assert_eq!(pinning.cores(), None);
        assert_eq!(
            pinning.to_string(),
            "32 vCPUs: not pinned, the host has 2 cores"
        );
    }

    #[test]
    fn a_refused_pin_is_reported_with_the_error_and_the_cores_asked_for() {
        let mut asked = Vec::new();
        let pinning = pin_vcpus_with(4, &[0, 1, 2, 3, 4, 5], |cores| {
            asked.push(cores.to_vec());
            if cores.len() == 4 {
                Err(refused())
            } else {
                Ok(true)
            }
        });
        assert_eq!(
            asked,
            vec![vec![0, 1, 2, 3], vec![0, 1, 2, 3, 4, 5]],
            "undone after"
        );
        assert_eq!(pinning.cores(), None);
        let Pinning::Failed { cores, .. } = &pinning else {
            panic!("{pinning:?}");
        };
        assert_eq!(cores, &[0, 1, 2, 3]);
        let line = pinning.to_string();
        assert!(
            line.starts_with(
                "4 vCPUs: NOT pinned, pinning to host cores 0-3 failed: sched_setaffinity of \
                 thread 42 to cores 0-3: Operation not permitted"
            ),
            "{line}"
        );
        assert!(!line.contains("the host has"), "{line}");

        // Undoing a narrower pin can fail too.
        let pinning = pin_vcpus_with(8, &[0, 1], |_| Err(refused()));
        let line = pinning.to_string();
        assert!(line.starts_with("8 vCPUs: NOT pinned, pinning to host cores 0-1 failed"));
    }

    #[test]
    fn an_os_without_pinning_says_so() {
        let pinning = pin_vcpus_with(2, &[0, 1, 2], |_| Ok(false));
        assert_eq!(pinning.cores(), None);
        assert_eq!(
            pinning.to_string(),
            "2 vCPUs: not pinned, this OS cannot pin threads to cores"
        );
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
