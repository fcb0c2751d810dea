//! The report's tables as CSV files for other tools, one exporter per table.
//!
//! Columns carry their unit in their name, as in the results CSVs; numbers are written in full
//! precision and an absent value is an empty cell. File names start with `report-` so that they
//! are not mistaken for results files.

use super::{ExportError, Exporter};
use crate::report::{GroupReport, Report, Stats};

/// Which table a [`CsvExporter`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvTable {
    /// One row per group and epoch number (`report-epochs.csv`).
    Epochs,
    /// One row per group: runs, wall time over all epochs, cost and memory (`report-groups.csv`).
    Groups,
    /// One row per study figure and matching group (`report-study.csv`).
    Study,
}

impl CsvTable {
    /// Every table.
    pub const ALL: [CsvTable; 3] = [CsvTable::Epochs, CsvTable::Groups, CsvTable::Study];

    /// The table's file name.
    pub fn file_name(self) -> &'static str {
        match self {
            CsvTable::Epochs => "report-epochs.csv",
            CsvTable::Groups => "report-groups.csv",
            CsvTable::Study => "report-study.csv",
        }
    }
}

/// Writes one of the report's tables as CSV.
#[derive(Debug, Clone, Copy)]
pub struct CsvExporter {
    table: CsvTable,
}

impl CsvExporter {
    /// An exporter for `table`.
    pub fn new(table: CsvTable) -> Self {
        CsvExporter { table }
    }
}

/// The columns that name a group, first in the epoch and group tables.
const GROUP_COLUMNS: [&str; 10] = [
    "label",
    "config",
    "platform",
    "implementation",
    "backend",
    "threads_requested",
    "threads_used",
    "gpu_share",
    "batch_size",
    "samples",
];

const EPOCH_COLUMNS: [&str; 10] = [
    "epoch",
    "runs",
    "wall_s_median",
    "wall_s_min",
    "wall_s_max",
    "user_s_median",
    "sys_s_median",
    "samples_per_s_median",
    "test_accuracy_median",
    "test_loss_median",
];

const GROUP_SUMMARY_COLUMNS: [&str; 19] = [
    "devices",
    "runs",
    "complete_runs",
    "epochs_per_run_median",
    "epochs_measured",
    "wall_s_median",
    "wall_s_min",
    "wall_s_max",
    "peak_rss_mib_median",
    "peak_rss_mib_max",
    "ram_gb",
    "ram_exceeded_runs",
    "billing",
    "currency",
    "cost_per_run_median",
    "cost_per_run_min",
    "cost_per_run_max",
    "cost_background_per_run_median",
    "cost_per_1000_epochs",
];

const STUDY_COLUMNS: [&str; 11] = [
    "config",
    "implementation",
    "label",
    "study_wall_s",
    "replay_wall_s",
    "wall_ratio",
    "study_accuracy",
    "replay_accuracy",
    "replay_accuracy_epoch",
    "accuracy_ratio",
    "accuracy_points",
];

/// A number or count in full precision.
fn num(value: impl ToString) -> String {
    value.to_string()
}

/// An optional value; `None` is an empty cell.
fn opt(value: Option<impl ToString>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn group_cells(g: &GroupReport) -> Vec<String> {
    vec![
        g.label.clone(),
        g.config.clone(),
        g.platform.clone(),
        g.implementation.clone(),
        g.backend.clone(),
        num(g.threads_requested),
        num(g.threads_used),
        opt(g.gpu_share),
        num(g.batch_size),
        num(g.samples),
    ]
}

/// The table's header and rows.
fn table(which: CsvTable, report: &Report) -> (Vec<&'static str>, Vec<Vec<String>>) {
    match which {
        CsvTable::Epochs => {
            let header = [GROUP_COLUMNS.as_slice(), &EPOCH_COLUMNS].concat();
            let rows = report
                .groups
                .iter()
                .flat_map(|g| {
                    g.epochs.iter().map(move |e| {
                        let mut cells = group_cells(g);
                        cells.extend([
                            num(e.epoch),
                            num(e.wall_s.count),
                            num(e.wall_s.median),
                            num(e.wall_s.min),
                            num(e.wall_s.max),
                            num(e.user_s),
                            num(e.sys_s),
                            num(e.samples_per_s),
                            opt(e.test_accuracy),
                            opt(e.test_loss),
                        ]);
                        cells
                    })
                })
                .collect();
            (header, rows)
        }
        CsvTable::Groups => {
            let header = [GROUP_COLUMNS.as_slice(), &GROUP_SUMMARY_COLUMNS].concat();
            let stat = |s: Option<Stats>, pick: fn(Stats) -> f64| opt(s.map(pick));
            let rows = report
                .groups
                .iter()
                .map(|g| {
                    let mut cells = group_cells(g);
                    cells.extend([
                        g.devices.join("; "),
                        num(g.runs),
                        num(g.complete_runs),
                        stat(g.epochs_per_run, |s| s.median),
                        num(g.wall_s.count),
                        num(g.wall_s.median),
                        num(g.wall_s.min),
                        num(g.wall_s.max),
                        num(g.peak_rss_mib.median),
                        num(g.peak_rss_mib.max),
                        num(g.ram_gb),
                        num(g.ram_exceeded_runs),
                        g.billing.clone(),
                        g.currency.clone(),
                        stat(g.cost_per_run, |s| s.median),
                        stat(g.cost_per_run, |s| s.min),
                        stat(g.cost_per_run, |s| s.max),
                        stat(g.cost_background_per_run, |s| s.median),
                        num(g.cost_per_1000_epochs),
                    ]);
                    cells
                })
                .collect();
            (header, rows)
        }
        CsvTable::Study => {
            let rows = report
                .study
                .iter()
                .map(|c| {
                    vec![
                        c.config.clone(),
                        c.implementation.clone(),
                        opt(c.label.as_deref()),
                        opt(c.study_wall_s),
                        opt(c.replay_wall_s),
                        opt(c.wall_ratio),
                        opt(c.study_accuracy),
                        opt(c.replay_accuracy),
                        opt(c.replay_accuracy_epoch),
                        opt(c.accuracy_ratio),
                        opt(c.accuracy_points),
                    ]
                })
                .collect();
            (STUDY_COLUMNS.to_vec(), rows)
        }
    }
}

impl Exporter for CsvExporter {
    fn name(&self) -> &str {
        "csv"
    }

    fn file_name(&self) -> &str {
        self.table.file_name()
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>, ExportError> {
        let error = |source| ExportError::Csv {
            file: self.file_name().to_string(),
            source,
        };
        let (header, rows) = table(self.table, report);
        let mut writer = ::csv::Writer::from_writer(Vec::new());
        writer.write_record(&header).map_err(error)?;
        for row in rows {
            writer.write_record(&row).map_err(error)?;
        }
        writer
            .into_inner()
            .map_err(|e| error(::csv::Error::from(e.into_error())))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::reader::ResultsSet;
    use crate::report::StudyFigure;
    use crate::report::tests::row;

    fn records(bytes: &[u8]) -> Vec<csv::StringRecord> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(bytes);
        reader.records().map(Result::unwrap).collect()
    }

    #[test]
    fn every_table_has_a_header_and_rows_of_its_width() {
        let rows = vec![
            row("r1", "g2.mig", "manual", 1, 120.0, 2.6, 0.92),
            row("r1", "g2.mig", "manual", 2, 125.0, 2.7, 0.9382),
            row("k1", "c1.32", "burn", 1, 46.0, 1.7664, 0.9127),
        ];
        let study = [StudyFigure {
            config: "c1.32".to_string(),
            implementation: "burn".to_string(),
            wall_s: Some(46.0),
            accuracy: Some(0.9127),
        }];
        let report = Report::build(
            &ResultsSet {
                rows,
                ..ResultsSet::default()
            },
            &study,
        );
        let expected_rows = [
            (CsvTable::Epochs, 3),
            (CsvTable::Groups, 2),
            (CsvTable::Study, 1),
        ];
        for (table, count) in expected_rows {
            let records = records(&CsvExporter::new(table).render(&report).unwrap());
            assert_eq!(records.len(), 1 + count, "{table:?}");
            assert!(
                records.iter().all(|r| r.len() == records[0].len()),
                "{table:?}"
            );
        }
        let study = records(&CsvExporter::new(CsvTable::Study).render(&report).unwrap());
        assert_eq!(&study[1][5], "1");
        let groups = records(&CsvExporter::new(CsvTable::Groups).render(&report).unwrap());
        let cost = groups[0]
            .iter()
            .position(|h| h == "cost_per_run_median")
            .unwrap();
        assert_eq!(&groups[2][0], "g2.mig / manual");
        assert_eq!(groups[2][cost].parse::<f64>().unwrap(), 2.6 + 2.7);
    }

    #[test]
    fn an_empty_report_still_gives_headers() {
        for table in CsvTable::ALL {
            let records = records(&CsvExporter::new(table).render(&Report::default()).unwrap());
            assert_eq!(records.len(), 1, "{table:?}");
        }
    }
}
