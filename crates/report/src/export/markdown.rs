//! `report.md`: the study's comparison as Markdown tables.

use std::fmt::Write as _;

use super::{Chart, ExportError, Exporter};
use crate::report::{GroupReport, Report, Stats, setup};

/// Writes `report.md`: wall time per epoch, cost and memory per run, the replay beside the
/// study, links to the charts, the host, and the problems met while reading.
#[derive(Debug, Clone, Default)]
pub struct MarkdownExporter {
    /// The charts to link (`![title](file)`), expected next to `report.md`; none by default.
    pub charts: Vec<Chart>,
}

impl Exporter for MarkdownExporter {
    fn name(&self) -> &str {
        "markdown"
    }

    fn file_name(&self) -> &str {
        "report.md"
    }

    fn render(&self, report: &Report) -> Result<Vec<u8>, ExportError> {
        Ok(render(report, &self.charts).into_bytes())
    }
}

/// A number to three significant digits (`93.0`, `0.00120`, `645`); more digits are kept
/// before the decimal point.
pub(crate) fn number(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    // The exponent of a finite non-zero f64 lies in -324..=308.
    #[allow(clippy::cast_possible_truncation)]
    let exponent = value.abs().log10().floor() as i32;
    let decimals = usize::try_from(2 - exponent).unwrap_or(0);
    format!("{value:.decimals$}")
}

/// A fraction as a percentage with two decimals (`91.27 %`).
pub(crate) fn percent(fraction: f64) -> String {
    format!("{:.2} %", fraction * 100.0)
}

fn spread(stats: &Stats) -> String {
    if stats.count > 1 {
        format!(
            "{} ({}-{})",
            number(stats.median),
            number(stats.min),
            number(stats.max)
        )
    } else {
        number(stats.median)
    }
}

fn or_na(value: Option<String>) -> String {
    value.unwrap_or_else(|| "n/a".to_string())
}

/// Escapes what would break a table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let line = |cells: &mut dyn Iterator<Item = String>| {
        format!("| {} |\n", cells.collect::<Vec<_>>().join(" | "))
    };
    out.push_str(&line(&mut header.iter().map(|h| cell(h))));
    out.push_str(&line(&mut header.iter().map(|_| "---".to_string())));
    for row in rows {
        out.push_str(&line(&mut row.iter().map(|c| cell(c))));
    }
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

const HOST_NOTE: &str = "These figures were measured on this host, which emulates each \
configuration: a thread pool of the configuration's vCPUs (capped at the host's cores), the GPU \
share by throttling, and the RAM as a budget checked against the peak memory. They are not \
measurements on the real platforms.";

fn render(report: &Report, charts: &[Chart]) -> String {
    let mut out = String::new();
    out.push_str("# Replay of the 2023 cloud ML platform study\n\n");
    out.push_str(
        "> Emulated on this host, not measured on the real platforms: see [Host](#host).\n\n",
    );
    let _ = write!(
        out,
        "Read {} from {}: {} ok, {} interrupted, {} failed; only `ok` epochs are summarised.",
        plural(report.rows_read, "row", "rows"),
        plural(report.files.len(), "file", "files"),
        report.rows_ok,
        report.rows_interrupted,
        report.rows_failed,
    );
    if !report.problems.is_empty() {
        let _ = write!(
            out,
            " {} skipped: see [Problems](#problems).",
            plural(
                report.problems.len(),
                "line or file was",
                "lines or files were"
            )
        );
    }
    out.push_str("\n\n");

    epochs_section(&mut out, &report.groups);
    cost_section(&mut out, &report.groups);
    study_section(&mut out, report);

    if !charts.is_empty() {
        out.push_str("## Charts\n\n");
        for chart in charts {
            let _ = writeln!(out, "![{}]({})\n", chart.title(), chart.file_name());
        }
    }

    out.push_str("## Host\n\n");
    out.push_str(HOST_NOTE);
    out.push_str("\n\n");
    for cpu in &report.host.cpus {
        let _ = writeln!(out, "- CPU: {} ({} logical cores)", cpu.cpu, cpu.cores);
    }
    for device in &report.host.devices {
        let _ = writeln!(out, "- Backend {}: {}", device.backend, device.device);
    }
    for version in &report.host.versions {
        let _ = writeln!(out, "- Program version: {version}");
    }
    if report.host.cpus.is_empty() {
        out.push_str("- No rows, so no host information.\n");
    }
    out.push('\n');

    out.push_str("## Problems\n\n");
    if report.problems.is_empty() {
        out.push_str("None: every line of every file was used.\n");
    }
    for problem in &report.problems {
        let _ = writeln!(out, "- {problem}");
    }
    out
}

fn epochs_section(out: &mut String, groups: &[GroupReport]) {
    out.push_str("## Wall time per epoch\n\n");
    if groups.is_empty() {
        out.push_str("No epoch finished with status `ok`: nothing to summarise.\n\n");
        return;
    }
    out.push_str(
        "The training pass only (the test evaluation is excluded). Medians over runs, with \
         min-max in brackets when there were several.\n\n",
    );
    let rows: Vec<Vec<String>> = groups
        .iter()
        .flat_map(|g| {
            g.epochs.iter().map(move |e| {
                vec![
                    g.config.clone(),
                    g.implementation.clone(),
                    g.backend.clone(),
                    setup(g),
                    e.epoch.to_string(),
                    e.wall_s.count.to_string(),
                    spread(&e.wall_s),
                    number(e.user_s),
                    number(e.sys_s),
                    number(e.samples_per_s),
                    or_na(e.test_accuracy.map(percent)),
                ]
            })
        })
        .collect();
    let header = [
        "configuration",
        "implementation",
        "backend",
        "setup",
        "epoch",
        "runs",
        "wall time, s",
        "user, s",
        "sys, s",
        "samples/s",
        "test accuracy",
    ];
    table(out, &header, &rows);
    out.push('\n');
}

fn cost_section(out: &mut String, groups: &[GroupReport]) {
    out.push_str("## Cost and memory per run\n\n");
    if groups.is_empty() {
        out.push_str("No runs to cost.\n\n");
        return;
    }
    out.push_str(
        "A run's cost is the sum over its epochs on the configuration's tariff, counted for \
         complete runs only (no interrupted or failed epoch); per 1,000 epochs is the median \
         epoch's cost times 1,000. Peak memory is the run's peak resident memory.\n\n",
    );
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| {
            let money = |value: f64| format!("{} {}", number(value), g.currency);
            let mut memory = spread(&g.peak_rss_mib);
            if g.ram_exceeded_runs > 0 {
                let _ = write!(
                    memory,
                    ", over budget in {}",
                    plural(g.ram_exceeded_runs, "run", "runs")
                );
            }
            vec![
                g.config.clone(),
                g.implementation.clone(),
                g.backend.clone(),
                g.billing.clone(),
                format!("{} of {}", g.complete_runs, g.runs),
                or_na(g.epochs_per_run.map(|s| {
                    if s.min < s.max {
                        format!("{}-{}", s.min, s.max)
                    } else {
                        s.median.to_string()
                    }
                })),
                or_na(g.cost_per_run.as_ref().map(|s| {
                    if s.count > 1 {
                        format!("{} ({}-{})", money(s.median), number(s.min), number(s.max))
                    } else {
                        money(s.median)
                    }
                })),
                or_na(g.cost_background_per_run.map(|s| money(s.median))),
                money(g.cost_per_1000_epochs),
                memory,
                number(g.ram_gb),
            ]
        })
        .collect();
    let header = [
        "configuration",
        "implementation",
        "backend",
        "billing",
        "complete runs",
        "epochs per run",
        "cost per run",
        "in background mode",
        "per 1,000 epochs",
        "peak memory, MiB",
        "RAM, GB",
    ];
    table(out, &header, &rows);
    out.push('\n');
}

fn study_section(out: &mut String, report: &Report) {
    out.push_str("## Replay versus the study\n\n");
    if report.study.is_empty() {
        out.push_str("No study figures were given.\n\n");
        return;
    }
    out.push_str(
        "The ratio is replay / study: below 1, the replay was faster. The accuracy difference \
         is replay - study in percentage points. The study timed one epoch; the replay's wall \
         time is its median per epoch, its accuracy the median after its last epoch.\n\n",
    );
    let ratio = |r: Option<f64>| or_na(r.map(number));
    let rows: Vec<Vec<String>> = report
        .study
        .iter()
        .map(|c| {
            vec![
                c.config.clone(),
                c.implementation.clone(),
                c.label
                    .clone()
                    .unwrap_or_else(|| "not replayed".to_string()),
                or_na(c.study_wall_s.map(number)),
                or_na(c.replay_wall_s.map(number)),
                ratio(c.wall_ratio),
                or_na(c.study_accuracy.map(percent)),
                or_na(c.replay_accuracy.map(|a| {
                    let epoch = c.replay_accuracy_epoch.map(|e| format!(" (epoch {e})"));
                    format!("{}{}", percent(a), epoch.unwrap_or_default())
                })),
                or_na(c.accuracy_points.map(|p| format!("{p:+.2}"))),
            ]
        })
        .collect();
    let header = [
        "configuration",
        "implementation",
        "replay",
        "study wall time, s",
        "replay wall time, s",
        "ratio",
        "study accuracy",
        "replay accuracy",
        "difference, points",
    ];
    table(out, &header, &rows);
    out.push('\n');
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_three_significant_digits() {
        assert_eq!(number(93.0), "93.0");
        assert_eq!(number(120.0), "120");
        assert_eq!(number(1234.4), "1234");
        assert_eq!(number(2.0088), "2.01");
        assert_eq!(number(0.0012), "0.00120");
        assert_eq!(number(0.0), "0");
        assert_eq!(percent(0.9127), "91.27 %");
    }

    #[test]
    fn table_cells_escape_pipes() {
        let mut out = String::new();
        table(&mut out, &["a"], &[vec!["x|y".to_string()]]);
        assert_eq!(out, "| a |\n| --- |\n| x\\|y |\n");
    }

    #[test]
    fn an_empty_report_says_there_is_nothing_to_summarise() {
        let text = String::from_utf8(
            MarkdownExporter::default()
                .render(&Report::default())
                .unwrap(),
        )
        .unwrap();
        assert!(
            text.contains("No epoch finished with status `ok`"),
            "{text}"
        );
        assert!(text.contains("Read 0 rows from 0 files"), "{text}");
    }
}
