//! The report's tables ([`crate::table`]) as CSV files for other tools, one exporter per table.
//!
//! Columns carry their unit in their name, as in the results CSVs; numbers are written in full
//! precision, a median-min-max cell becomes three columns (`wall_s_median`, `wall_s_min`,
//! `wall_s_max`), and an absent value is an empty cell (its reason, `did not converge`, is in
//! another column: `converged`). Every table is written, with its header alone where it has
//! no rows, so that its columns are the same in every report. File names start with `report-` so
//! that they are not mistaken for results files.

use super::{ExportError, Exporter};
use crate::report::Report;
use crate::table::{Cell, Show, Table, TableKind, table};

/// Writes one of the report's tables as `report-<table>.csv`.
#[derive(Debug, Clone)]
pub struct CsvExporter {
    kind: TableKind,
    file_name: String,
}

impl CsvExporter {
    /// An exporter for the table `kind`.
    pub fn new(kind: TableKind) -> Self {
        CsvExporter {
            kind,
            file_name: format!("report-{}.csv", kind.name()),
        }
    }
}

/// The CSV header and records of a table: every column but the summaries for people.
fn records(table: &Table) -> (Vec<String>, Vec<Vec<String>>) {
    let shown: Vec<usize> = (0..table.columns.len())
        .filter(|&i| table.columns[i].show != Show::Summary)
        .collect();
    let mut header = Vec::new();
    for &i in &shown {
        let column = &table.columns[i];
        if column.spread {
            header.extend(["median", "min", "max"].map(|s| format!("{}_{s}", column.key)));
        } else {
            header.push(column.key.to_string());
        }
    }
    let rows = table
        .rows
        .iter()
        .map(|row| {
            let mut cells = Vec::new();
            for &i in &shown {
                match (&row[i], table.columns[i].spread) {
                    (Cell::Spread(s), _) => {
                        cells.extend([s.median, s.min, s.max].map(|v| v.to_string()));
                    }
                    (Cell::Missing | Cell::Absent(_), true) => {
                        cells.extend(["", "", ""].map(String::from));
                    }
                    (Cell::Text(text), _) => cells.push(text.clone()),
                    (Cell::Count(n), _) => cells.push(n.to_string()),
                    (Cell::Number(v) | Cell::Fraction(v) | Cell::Signed(v), _) => {
                        cells.push(v.to_string());
                    }
                    (Cell::Missing | Cell::Absent(_), false) => cells.push(String::new()),
                }
            }
            cells
        })
        .collect();
    (header, rows)
}

impl Exporter for CsvExporter {
    fn name(&self) -> &str {
        "csv"
    }

    fn file_name(&self) -> &str {
        &self.file_name
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>, ExportError> {
        let error = |source| ExportError::Csv {
            file: self.file_name.clone(),
            source,
        };
        let (header, rows) = records(&table(self.kind, report));
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
    use crate::report::StudyFigure;
    use crate::report::tests::row;
    use replay_store::ResultsSet;

    fn parse(bytes: &[u8]) -> Vec<csv::StringRecord> {
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
            accuracy_per_platform: true,
            note: None,
        }];
        let report = Report::build(
            &ResultsSet {
                rows,
                ..ResultsSet::default()
            },
            &study,
        );
        let expected_rows = [
            (TableKind::Epochs, 3),
            (TableKind::Groups, 2),
            (TableKind::Study, 1),
        ];
        for (kind, count) in expected_rows {
            let exporter = CsvExporter::new(kind);
            assert_eq!(exporter.file_name(), format!("report-{}.csv", kind.name()));
            let records = parse(&exporter.render(&report).unwrap());
            assert_eq!(records.len(), 1 + count, "{kind:?}");
            assert!(
                records.iter().all(|r| r.len() == records[0].len()),
                "{kind:?}"
            );
            assert!(!records[0].iter().any(|h| h == "setup"), "{kind:?}");
        }
        let study = parse(&CsvExporter::new(TableKind::Study).render(&report).unwrap());
        let column = |records: &[csv::StringRecord], name: &str| {
            records[0].iter().position(|h| h == name).unwrap()
        };
        assert_eq!(&study[1][column(&study, "wall_ratio")], "1");
        assert_eq!(&study[1][column(&study, "accuracy_per_platform")], "true");
        let groups = parse(&CsvExporter::new(TableKind::Groups).render(&report).unwrap());
        let cost = column(&groups, "cost_per_run_median");
        assert_eq!(&groups[2][0], "g2.mig / manual");
        assert_eq!(groups[2][cost].parse::<f64>().unwrap(), 2.6 + 2.7);
        assert_eq!(&groups[2][column(&groups, "step")], "fused");
    }

    #[test]
    fn an_empty_report_still_gives_headers() {
        for kind in TableKind::ALL {
            let records = parse(&CsvExporter::new(kind).render(&Report::default()).unwrap());
            assert_eq!(records.len(), 1, "{kind:?}");
            assert!(records[0].len() > 5, "{kind:?}");
        }
    }
}
