//! The machines that produced the rows: every configuration is an emulation on them.

use std::collections::{BTreeMap, BTreeSet};

use replay_store::ResultRow;
use serde::Serialize;

use super::distinct;
use super::group::UNNAMED_HOST;

/// A host CPU seen in the rows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct HostCpu {
    /// The CPU's model name.
    pub cpu: String,
    /// Logical cores, count.
    pub cores: u32,
}

/// A backend and the device it ran on, as seen in the rows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct HostDevice {
    /// The backend.
    pub backend: String,
    /// The device or adapter name.
    pub device: String,
}

/// One machine that ran rows (a cluster's node, a laptop), as named by the rows' run ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HostMachine {
    /// The host name, or `unnamed` for rows whose run id does not name one (older rows).
    pub host: String,
    /// Its CPU models, sorted.
    pub cpus: Vec<String>,
    /// Rows it wrote, count.
    pub rows: usize,
    /// Runs it made, count.
    pub runs: usize,
    /// The configurations it ran, sorted.
    pub configs: Vec<String>,
}

/// The machine(s) that produced the rows: every configuration is an emulation on them.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HostReport {
    /// Which machine ran which rows, sorted by host name.
    pub machines: Vec<HostMachine>,
    /// The host CPUs, sorted.
    pub cpus: Vec<HostCpu>,
    /// The backends and devices, sorted.
    pub devices: Vec<HostDevice>,
    /// The program versions that wrote the rows, sorted.
    pub versions: Vec<String>,
}

pub(super) fn host(rows: &[ResultRow]) -> HostReport {
    let cpus: BTreeSet<HostCpu> = rows
        .iter()
        .map(|r| HostCpu {
            cpu: r.host_cpu.clone(),
            cores: r.host_cores,
        })
        .collect();
    let devices: BTreeSet<HostDevice> = rows
        .iter()
        .map(|r| HostDevice {
            backend: r.backend.clone(),
            device: r.device.clone(),
        })
        .collect();
    let mut by_host: BTreeMap<&str, Vec<&ResultRow>> = BTreeMap::new();
    for row in rows {
        by_host
            .entry(row.host().unwrap_or(UNNAMED_HOST))
            .or_default()
            .push(row);
    }
    let machines = by_host
        .into_iter()
        .map(|(host, rows)| HostMachine {
            host: host.to_string(),
            cpus: distinct(rows.iter().map(|r| r.host_cpu.as_str())),
            rows: rows.len(),
            runs: rows
                .iter()
                .map(|r| r.run_id.as_str())
                .collect::<BTreeSet<_>>()
                .len(),
            configs: distinct(rows.iter().map(|r| r.config.as_str())),
        })
        .collect();
    HostReport {
        machines,
        cpus: cpus.into_iter().collect(),
        devices: devices.into_iter().collect(),
        versions: distinct(rows.iter().map(|r| r.version.as_str())),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::report::Report;
    use crate::report::tests::{row, set};

    #[test]
    fn host_lists_every_cpu_and_device_seen() {
        let mut cpu_run = row("r2", "c1.32", "burn", 1, 46.0, 1.0, 0.91);
        cpu_run.backend = "ndarray".to_string();
        cpu_run.device = "cpu".to_string();
        let report = Report::build(
            &set(vec![
                row("r1", "g2.mig", "burn", 1, 93.0, 2.0, 0.9),
                cpu_run,
            ]),
            &[],
        );
        assert_eq!(report.host.cpus.len(), 1);
        assert_eq!(report.host.cpus[0].cores, 2);
        let backends: Vec<&str> = report
            .host
            .devices
            .iter()
            .map(|d| d.backend.as_str())
            .collect();
        assert_eq!(backends, vec!["ndarray", "wgpu"]);
    }
}
