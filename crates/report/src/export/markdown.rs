//! `report.md`: the study's comparison as Markdown tables.

use std::fmt::Write as _;

use super::{Chart, ExportError, Exporter};
use crate::report::{EpochReport, LEARNED_WITHIN_POINTS, Report, Stats, percent_label};
use crate::table::{Cell, Show, Table, TableKind, tables};

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
    if stats.count > 1 && stats.min < stats.max {
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

const HOST_NOTE: &str = "These figures were measured on the hosts below, which emulate each \
configuration: the configuration's vCPUs as threads pinned to as many host cores (where the host \
has them), the GPU share as a slice of the device's compute units or as a time slice (the \
`throttle_method` column says which), and the RAM as a budget checked against the peak memory. \
They are not measurements on the real platforms.";

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

    for table in tables(report) {
        section(&mut out, &table, report);
        if table.kind == TableKind::Epochs {
            throttle_misses(&mut out, report);
        }
    }

    if !charts.is_empty() {
        out.push_str("## Charts\n\n");
        if charts
            .iter()
            .any(|c| matches!(c, Chart::TimeVersusBatch { .. }))
        {
            out.push_str(
                "The charts of epoch time against batch size, one per dataset and hidden layer \
                 width, show which configuration is fastest for which job; the study's \
                 published times appear only in the chart of its own workload (mnist, 28 hidden \
                 units), at batch size 1.\n\n",
            );
        }
        if report.groups.iter().any(|g| g.did_not_learn()) {
            out.push_str(
                "Hollow points in the charts of time against cost and against batch size are \
                 groups that did not learn (marked ⚠ in the tables).\n\n",
            );
        }
        for chart in charts {
            let _ = writeln!(out, "![{}]({})\n", chart.title(), chart.file_name());
        }
    }

    out.push_str("## Host\n\n");
    out.push_str(HOST_NOTE);
    out.push_str("\n\n");
    if report.host.machines.len() > 1 {
        out.push_str(
            "| host | CPU | rows | runs | configurations |\n| --- | --- | --- | --- | --- |\n",
        );
        for m in &report.host.machines {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} |",
                m.host,
                m.cpus.join("; "),
                m.rows,
                m.runs,
                m.configs.join(", ")
            );
        }
        out.push('\n');
    }
    if let [m] = report.host.machines.as_slice()
        && m.host != "unnamed"
    {
        let _ = writeln!(out, "- Host: {} ({} rows, {} runs)", m.host, m.rows, m.runs);
    }
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

/// The epochs whose time slice missed its GPU share, by how much, per group, epoch and run;
/// nothing where every time slice held its share.
fn throttle_misses(out: &mut String, report: &Report) {
    let missed: Vec<(&str, &EpochReport)> = report
        .groups
        .iter()
        .flat_map(|g| g.epochs.iter().map(move |e| (g.label.as_str(), e)))
        .filter(|(_, e)| !e.throttle_misses.is_empty())
        .collect();
    if missed.is_empty() {
        return;
    }
    out.push_str(
        "### Time slices that missed their GPU share

",
    );
    out.push_str(
        "In these epochs a time slice missed the GPU share it was asked for: `busy` is the \
         share of the epoch's wall time the device was busy (the share was asked), and, where \
         known, the factor is the epoch's wall time over its steps at full speed (1 / share \
         was asked). The epochs are counted in their groups above all the same.\n\n",
    );
    for (label, e) in missed {
        let runs: Vec<String> = e
            .throttle_misses
            .iter()
            .map(|m| format!("run `{}`: {}", m.run_id, m.miss))
            .collect();
        let _ = writeln!(out, "- {label}, epoch {}: {}", e.epoch, runs.join("; "));
    }
    out.push('\n');
}

/// The Markdown of one of the report's tables: every column but the detail ones, and but the
/// sparse ones where every cell is empty.
fn table_of(out: &mut String, table: &Table) {
    let shown: Vec<usize> = (0..table.columns.len())
        .filter(|&i| table.columns[i].show != Show::Detail)
        .filter(|&i| !table.columns[i].sparse || table.rows.iter().any(|r| !r[i].is_empty()))
        .collect();
    let header: Vec<&str> = shown.iter().map(|&i| table.columns[i].title).collect();
    let rows: Vec<Vec<String>> = table
        .rows
        .iter()
        .map(|row| {
            shown
                .iter()
                .map(|&i| match &row[i] {
                    Cell::Text(text) => text.clone(),
                    Cell::Count(n) => n.to_string(),
                    Cell::Number(v) => number(*v),
                    Cell::Fraction(v) => percent(*v),
                    Cell::Signed(v) => format!("{v:+.2}"),
                    Cell::Spread(s) => spread(s),
                    Cell::Absent(why) => why.clone(),
                    Cell::Missing => "n/a".to_string(),
                })
                .collect()
        })
        .collect();
    self::table(out, &header, &rows);
    out.push('\n');
}

/// The heading of the target section: `Time and cost to 94 %` (`to 90 % and 94 %` for two
/// targets).
fn target_heading(report: &Report) -> String {
    let mut targets: Vec<f64> = report
        .groups
        .iter()
        .filter_map(|g| Some(g.to_target.as_ref()?.target_accuracy))
        .collect();
    targets.sort_by(f64::total_cmp);
    targets.dedup();
    let named: Vec<String> = targets
        .iter()
        .map(|&t| format!("{} %", percent_label(t)))
        .collect();
    let list = match named.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    };
    format!("Time and cost to {list}")
}

const TARGET_INTRO: &str = "Runs made with a target accuracy (`--target-accuracy`) stop at the \
first test evaluation that reaches it. Time to target is the training wall time up to that \
evaluation, evaluations excluded (DAWNBench's rule); cost to target is what the run's rows up to \
it cost; images and epochs to target are how much it trained. Over a group's complete runs (its \
seeds) they are scored as MLPerf Training scores runs: the fastest and the slowest run are \
dropped and the rest averaged, a run that missed the target counting as the slowest; with two \
misses or more the group did not converge, and below three runs nothing is dropped and any miss \
means it did not converge.";

/// The section of one table: its heading, what it shows, and the table; nothing for the
/// target table without rows (no run had a target).
fn section(out: &mut String, table: &Table, report: &Report) {
    let epochs_intro = if report.groups.iter().any(|g| g.did_not_learn()) {
        format!(
            "The training pass only (the test evaluation is excluded). Medians over runs, with \
             min-max in brackets when there were several. ⚠ marks a group that did not learn: \
             its test accuracy after its last epoch is more than {LEARNED_WITHIN_POINTS} \
             percentage points below the best any group of its dataset and hidden units \
             reached within as many epochs (most likely a learning rate that does not \
             suit its batch size), so its times must not rank its configuration."
        )
    } else {
        "The training pass only (the test evaluation is excluded). Medians over runs, with \
         min-max in brackets when there were several."
            .to_string()
    };
    let stopped = report
        .groups
        .iter()
        .flat_map(|g| &g.epochs)
        .any(|e| e.stopped_runs > 0);
    let epochs_intro = if stopped {
        format!(
            "{epochs_intro} An epoch a run left part-way, stopped at its target accuracy, \
             counts for the test accuracy but not for the times, which are over whole epochs."
        )
    } else {
        epochs_intro
    };
    let target_heading = target_heading(report);
    let (heading, intro, empty) = match table.kind {
        TableKind::Epochs => (
            "Wall time per epoch",
            epochs_intro.as_str(),
            "No epoch finished with status `ok`: nothing to summarise.",
        ),
        TableKind::Target if table.rows.is_empty() => return,
        TableKind::Target => (target_heading.as_str(), TARGET_INTRO, ""),
        TableKind::Groups => (
            "Cost and memory per run",
            "A run's cost is the sum over its epochs on the configuration's tariff, at the rate \
             it was billed at, counted for complete runs only (no interrupted or failed epoch); \
             per 1,000 epochs is the median epoch's cost times 1,000. Peak memory is the run's \
             peak resident memory.",
            "No runs to cost.",
        ),
        TableKind::Study => (
            "Replay versus the study",
            "The ratio is replay / study: below 1, the replay was faster. The accuracy difference \
             is replay - study in percentage points. The study timed one epoch; the replay's \
             wall time is its median per epoch, its accuracy the median after its last epoch. \
             The study gives one accuracy per platform, not per configuration: where a note \
             says so, every configuration of the platform is compared with the same figure. \
             Only runs of the study's workload (MNIST, 28 hidden units, batch size 1, learning \
             rate 0.1, 60,000 images per epoch) are put beside its figures.",
            "No study figures were given.",
        ),
    };
    let _ = writeln!(out, "## {heading}\n");
    if table.rows.is_empty() {
        let _ = writeln!(out, "{empty}\n");
        return;
    }
    let _ = writeln!(out, "{intro}\n");
    table_of(out, table);
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
    fn targets_get_their_section_and_groups_that_did_not_learn_a_note() {
        use crate::report::tests::{row, set};
        let at = |run: &str, batch: u32, accuracy: f64| {
            let mut r = row(run, "c1.4", "burn", 1, 10.0, 0.1, accuracy);
            r.batch_size = batch;
            r
        };
        let target = |run: &str, seed: u64, train_s: f64| {
            let mut r = at(run, 1, 0.95);
            (r.seed, r.train_s) = (seed, Some(train_s));
            (r.target_accuracy, r.target_reached) = (Some(0.94), Some(true));
            r
        };
        let plain = vec![at("a", 1, 0.92), at("b", 256, 0.27)];
        let render = |rows| {
            let report = Report::build(&set(rows), &[]);
            String::from_utf8(MarkdownExporter::default().render(&report).unwrap()).unwrap()
        };
        let text = render(plain.clone());
        assert!(!text.contains("Time and cost to"), "{text}");
        assert!(text.contains("| note |"), "{text}");
        assert!(
            text.contains("| ⚠ did not learn (27.00 % vs 92.00 %) |"),
            "{text}"
        );
        assert!(
            text.contains("⚠ marks a group that did not learn"),
            "{text}"
        );
        let mut rows = plain;
        rows.extend([
            target("t1", 1, 9.0),
            target("t2", 2, 11.0),
            target("t3", 3, 30.0),
        ]);
        let text = render(rows);
        assert!(text.contains("## Time and cost to 94 %\n"), "{text}");
        assert!(text.contains("MLPerf Training"), "{text}");
        assert!(text.contains("| 94.00 % | 3 | 0 | 11.0 |"), "{text}");
        let text = render(vec![at("a", 1, 0.92), at("c", 32, 0.90)]);
        assert!(!text.contains("| note |") && !text.contains("⚠"), "{text}");
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
