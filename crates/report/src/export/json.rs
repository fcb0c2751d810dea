//! `report.json`: the whole [`Report`] for other tools.

use super::{ExportError, Exporter};
use crate::report::Report;

/// Writes the report as pretty-printed JSON (`report.json`); units as in [`Report`]'s docs.
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn name(&self) -> &str {
        "json"
    }

    fn file_name(&self) -> &str {
        "report.json"
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>, ExportError> {
        let mut bytes = serde_json::to_vec_pretty(report).map_err(|source| ExportError::Json {
            file: self.file_name().to_string(),
            source,
        })?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::tests::row;
    use replay_store::ResultsSet;

    #[test]
    fn the_json_holds_groups_epochs_and_costs() {
        let rows = vec![row("r1", "g2.mig", "burn", 1, 93.0, 2.0088, 0.9127)];
        let results = ResultsSet {
            rows,
            ..ResultsSet::default()
        };
        let report = Report::build(&results, &[]);
        let bytes = JsonExporter.render(&report).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        let group = &value["groups"][0];
        assert_eq!(group["label"], "g2.mig / burn");
        assert_eq!(group["epochs"][0]["wall_s"]["median"], 93.0);
        assert_eq!(group["cost_per_run"]["median"], 2.0088);
        assert!(value["study"].as_array().unwrap().is_empty());
        assert_eq!(value["rows_ok"], 1);
    }
}
