//! Turning a [`Report`] into files: one module per format, one trait, one writer.
//!
//! Each format implements [`Exporter`], which renders bytes and does no I/O; [`write_report`] is
//! the one place that decides where the bytes go. Adding a format (HTML, say) is one new module
//! with one `impl Exporter`, plus a line in [`all_exporters`].

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::report::Report;
use crate::table::TableKind;

pub mod csv;
pub mod json;
pub mod markdown;
pub mod svg;

pub use self::csv::CsvExporter;
pub use self::json::JsonExporter;
pub use self::markdown::MarkdownExporter;
pub use self::svg::{Chart, SvgExporter};

/// Why a report could not be rendered or written.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A chart could not be drawn.
    #[error("cannot draw chart '{file}': {message}")]
    Chart {
        /// The chart's file name.
        file: String,
        /// What plotters reported.
        message: String,
    },
    /// A CSV table could not be formatted.
    #[error("cannot format CSV table '{file}': {source}")]
    Csv {
        /// The table's file name.
        file: String,
        /// The underlying error.
        source: ::csv::Error,
    },
    /// The JSON could not be formatted.
    #[error("cannot format JSON '{file}': {source}")]
    Json {
        /// The file name.
        file: String,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// An exporter's file name is not a plain file name.
    #[error(
        "exporter '{exporter}' names its file '{file}'; expected a plain file name without folders"
    )]
    FileName {
        /// The exporter's name.
        exporter: String,
        /// The file name it gave.
        file: String,
    },
    /// The output folder could not be created.
    #[error("cannot create report folder '{}': {source}", path.display())]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A report file could not be written.
    #[error("cannot write report file '{}': {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// One output format: renders the whole report, or one part of it, into one file's bytes.
pub trait Exporter {
    /// A short name for messages (`markdown`, `svg`, `csv`, `json`).
    fn name(&self) -> &str;

    /// The file the bytes belong in, relative to the output folder (`report.md`).
    fn file_name(&self) -> &str;

    /// Renders `report`; no I/O.
    fn render(&self, report: &Report) -> Result<Vec<u8>, ExportError>;
}

/// Every exporter of `report`: `report.md` (linking the charts), the SVG charts
/// ([`Chart::all`]: four, and one of epoch time against batch size per dataset and hidden
/// layer width), the CSV tables and `report.json`.
pub fn all_exporters(report: &Report) -> Vec<Box<dyn Exporter>> {
    let charts = Chart::all(report);
    let mut exporters: Vec<Box<dyn Exporter>> = vec![Box::new(MarkdownExporter {
        charts: charts.clone(),
    })];
    exporters.extend(
        charts
            .into_iter()
            .map(|chart| Box::new(SvgExporter::new(chart)) as _),
    );
    exporters.extend(
        TableKind::ALL
            .iter()
            .map(|&kind| Box::new(CsvExporter::new(kind)) as _),
    );
    exporters.push(Box::new(JsonExporter));
    exporters
}

/// Renders `report` with each exporter and writes `<out_dir>/<file name>` for each, creating
/// `out_dir` if needed; returns the paths written, in exporter order.
///
/// Every file is rendered before any is written, and each is written to a temporary file that
/// is then renamed, so a failure never leaves a half-written report file.
pub fn write_report(
    report: &Report,
    out_dir: &Path,
    exporters: &[Box<dyn Exporter>],
) -> Result<Vec<PathBuf>, ExportError> {
    let mut rendered = Vec::with_capacity(exporters.len());
    for exporter in exporters {
        let file = exporter.file_name();
        let plain = Path::new(file).file_name().is_some_and(|name| name == file);
        if !plain || file.starts_with('.') {
            return Err(ExportError::FileName {
                exporter: exporter.name().to_string(),
                file: file.to_string(),
            });
        }
        rendered.push((out_dir.join(file), exporter.render(report)?));
    }
    fs::create_dir_all(out_dir).map_err(|source| ExportError::CreateDir {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let mut written = Vec::with_capacity(rendered.len());
    for (path, bytes) in rendered {
        let mut temporary = path.clone().into_os_string();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        let write_error = |source| ExportError::Write {
            path: path.clone(),
            source,
        };
        fs::write(&temporary, &bytes).map_err(write_error)?;
        fs::rename(&temporary, &path).map_err(write_error)?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    struct Named(&'static str);

    impl Exporter for Named {
        fn name(&self) -> &str {
            "test"
        }
        fn file_name(&self) -> &str {
            self.0
        }
        fn render(&self, _: &Report) -> Result<Vec<u8>, ExportError> {
            Ok(b"hello".to_vec())
        }
    }

    #[test]
    fn files_land_in_the_output_folder_under_their_names() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let exporters: Vec<Box<dyn Exporter>> = vec![Box::new(Named("a.txt"))];
        let written = write_report(&Report::default(), &out, &exporters).unwrap();
        assert_eq!(written, vec![out.join("a.txt")]);
        assert_eq!(fs::read(out.join("a.txt")).unwrap(), b"hello");
        assert_eq!(fs::read_dir(&out).unwrap().count(), 1);
    }

    #[test]
    fn a_file_name_with_folders_is_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let exporters: Vec<Box<dyn Exporter>> =
            vec![Box::new(Named("a.txt")), Box::new(Named("../escape.txt"))];
        let err = write_report(&Report::default(), &out, &exporters).unwrap_err();
        assert!(err.to_string().contains("'../escape.txt'"), "{err}");
        assert!(!out.exists());
    }

    #[test]
    fn every_exporter_has_its_own_file() {
        let exporters = all_exporters(&Report::default());
        let mut names: Vec<&str> = exporters.iter().map(|e| e.file_name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), exporters.len());
        assert!(names.contains(&"report.md"));
    }
}
