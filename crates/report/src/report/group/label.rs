//! The labels of groups (the shortest that tells them apart) and their setup lines.

use std::collections::{BTreeSet, HashMap};

use super::GroupReport;

/// The host name of rows whose run id names none (rows older than host names in run ids).
pub(crate) const UNNAMED_HOST: &str = "unnamed";

/// Gives each group `config / implementation`; where several groups share that, `config /
/// implementation / backend / step`; where several still share it, that and, in brackets,
/// every setting (see [`SETTINGS`]) that differs among those groups. Labels are unique:
/// groups differ in at least one of these.
pub(crate) fn assign_labels(groups: &mut [GroupReport]) {
    let all: Vec<&Setting> = SETTINGS.iter().collect();
    let labels = labels(&groups.iter().collect::<Vec<_>>(), &all);
    for (g, label) in groups.iter_mut().zip(labels) {
        g.label = label;
    }
}

/// Labels for lines of groups that differ only in batch size, one group standing for each
/// line: told apart as [`GroupReport::label`]s are, by every setting but the batch size.
pub(crate) fn line_labels(lines: &[&GroupReport]) -> Vec<String> {
    let settings: Vec<&Setting> = SETTINGS.iter().filter(|s| s.name != "batch").collect();
    labels(lines, &settings)
}

/// Labels telling `groups` apart by `config / implementation`, then backend and step, then
/// the `settings` that differ among the groups that still share a label.
fn labels(groups: &[&GroupReport], settings: &[&Setting]) -> Vec<String> {
    let short = |g: &GroupReport| format!("{} / {}", g.config, g.implementation);
    let longer = |g: &GroupReport| format!("{} / {} / {}", short(g), g.backend, g.step);
    let mut by_short: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_longer: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, g) in groups.iter().enumerate() {
        by_short.entry(short(g)).or_default().push(i);
        by_longer.entry(longer(g)).or_default().push(i);
    }
    groups
        .iter()
        .map(|g| {
            let same_short = by_short.get(&short(g)).map_or(0, Vec::len);
            let same_longer = by_longer.get(&longer(g)).cloned().unwrap_or_default();
            if same_short <= 1 {
                return short(g);
            }
            if same_longer.len() <= 1 {
                return longer(g);
            }
            let differing: Vec<String> = settings
                .iter()
                .filter(|setting| {
                    let values: BTreeSet<String> = same_longer
                        .iter()
                        .map(|&i| (setting.value)(groups[i]))
                        .collect();
                    values.len() > 1
                })
                .map(|setting| (setting.words)(&(setting.value)(g)))
                .collect();
            if differing.is_empty() {
                longer(g)
            } else {
                format!("{} ({})", longer(g), differing.join(", "))
            }
        })
        .collect()
}

/// A setting of a group: its name, how its value reads in a label, and its value.
struct Setting {
    name: &'static str,
    words: fn(&str) -> String,
    value: fn(&GroupReport) -> String,
}

/// The settings that tell groups of one configuration, implementation, backend and step
/// apart, in label order: every [`GroupKey`](super::GroupKey) field that is not in `config /
/// implementation / backend / step`.
const SETTINGS: [Setting; 14] = [
    Setting {
        name: "workload",
        words: |v| v.to_string(),
        value: |g| format!("{} {} hidden", g.dataset, g.hidden_units),
    },
    Setting {
        name: "batch",
        words: |v| format!("batch {v}"),
        value: |g| g.batch_size.to_string(),
    },
    Setting {
        name: "learning rate",
        words: |v| format!("lr {v}"),
        value: |g| g.learning_rate.to_string(),
    },
    Setting {
        name: "order",
        words: |v| format!("{v} order"),
        value: |g| order_name(g).to_string(),
    },
    Setting {
        name: "weights",
        words: |v| format!("weights {v}"),
        value: |g| g.init_weights.clone(),
    },
    Setting {
        name: "threads",
        words: |v| format!("{v} threads"),
        value: threads,
    },
    Setting {
        name: "GPU share",
        words: |v| format!("GPU {v}"),
        value: |g| g.gpu_share.map_or("none".to_string(), |s| s.to_string()),
    },
    Setting {
        name: "throttle",
        words: |v| format!("throttle {v}"),
        value: |g| g.throttle_method.clone(),
    },
    Setting {
        name: "device",
        words: |v| format!("on {v}"),
        value: |g| g.device.clone(),
    },
    Setting {
        name: "samples",
        words: |v| format!("{v} samples"),
        value: samples,
    },
    Setting {
        name: "target",
        words: |v| v.to_string(),
        value: target,
    },
    Setting {
        name: "host",
        words: |v| format!("host {v}"),
        value: |g| g.host.clone(),
    },
    Setting {
        name: "CPU",
        words: |v| v.to_string(),
        value: |g| g.host_cpu.clone(),
    },
    Setting {
        name: "cores",
        words: |v| format!("{v} cores"),
        value: |g| g.host_cores.to_string(),
    },
];

fn order_name(g: &GroupReport) -> &str {
    if g.order.is_empty() {
        "unknown"
    } else {
        &g.order
    }
}

/// The images per epoch (`60000`), or `unknown` where no run trained a whole epoch.
fn samples(g: &GroupReport) -> String {
    g.samples
        .map_or_else(|| "unknown".to_string(), |n| n.to_string())
}

/// The target accuracy (`target 94 %`), or `no target`.
fn target(g: &GroupReport) -> String {
    g.target_accuracy.map_or_else(
        || "no target".to_string(),
        |t| format!("target {} %", crate::report::percent_label(t)),
    )
}

fn threads(g: &GroupReport) -> String {
    format!("{} of {}", g.threads_used, g.threads_requested)
}

/// The group's settings in words: `mnist 28 hidden, batch 1, lr 0.1, file order, 2 of 4
/// threads, GPU 0.125: time-slice, on NVIDIA H200, 60000 samples`, with the initial weights
/// when they came from a file, the device when it is not the CPU, the target accuracy where
/// the runs had one (`, target 94 %`), and, with `host`, the machine.
pub(crate) fn setup(g: &GroupReport, host: bool) -> String {
    let gpu = g
        .gpu_share
        .map(|s| format!(", GPU {s}: {}", g.throttle_method))
        .unwrap_or_default();
    let device = if g.device == "cpu" {
        String::new()
    } else {
        format!(", on {}", g.device)
    };
    let weights = match g.init_weights.as_str() {
        "" | "seeded" => String::new(),
        file => format!(", weights {file}"),
    };
    let target = if g.target_accuracy.is_some() {
        format!(", {}", target(g))
    } else {
        String::new()
    };
    let host = if host {
        format!(", host {} ({}, {} cores)", g.host, g.host_cpu, g.host_cores)
    } else {
        String::new()
    };
    format!(
        "{} {} hidden, batch {}, lr {}, {} order, {} threads{gpu}{device}, {} samples{weights}\
         {target}{host}",
        g.dataset,
        g.hidden_units,
        g.batch_size,
        g.learning_rate,
        order_name(g),
        threads(g),
        samples(g),
    )
}
