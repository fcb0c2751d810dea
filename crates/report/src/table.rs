//! The report's tables, defined once: [`tables`] builds them from a [`Report`], and every
//! exporter renders the same tables in its own way (Markdown rounds numbers and folds the
//! settings into one column; CSV writes every column in full precision).

use crate::export::markdown::percent;
use crate::report::{EpochReport, GroupReport, Report, Stats, setup};

/// One cell of a table.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text as it is.
    Text(String),
    /// A count.
    Count(u64),
    /// A measurement in the column's unit.
    Number(f64),
    /// A fraction in [0, 1] (an accuracy): a percentage in text.
    Fraction(f64),
    /// A difference, written with its sign in text (`+0.08`).
    Signed(f64),
    /// Median, min and max over runs: one column in text, three (`_median`, `_min`, `_max`)
    /// in CSV.
    Spread(Stats),
    /// No value, for a reason: an empty cell in CSV, the reason in text (`did not converge`).
    Absent(String),
    /// No value.
    Missing,
}

impl Cell {
    fn number(value: Option<f64>) -> Cell {
        value.map_or(Cell::Missing, Cell::Number)
    }

    fn fraction(value: Option<f64>) -> Cell {
        value.map_or(Cell::Missing, Cell::Fraction)
    }

    fn spread(value: Option<Stats>) -> Cell {
        value.map_or(Cell::Missing, Cell::Spread)
    }

    fn count(value: Option<u64>) -> Cell {
        value.map_or(Cell::Missing, Cell::Count)
    }

    fn flag(value: Option<bool>) -> Cell {
        value.map_or(Cell::Missing, |v| Cell::Text(v.to_string()))
    }

    /// Whether the cell says nothing: missing, empty text or a zero count.
    pub fn is_empty(&self) -> bool {
        match self {
            Cell::Missing => true,
            Cell::Text(text) => text.is_empty(),
            Cell::Count(n) => *n == 0,
            _ => false,
        }
    }
}

/// Where a column is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    /// In every rendering.
    Always,
    /// Only where every detail is wanted (CSV, for other tools).
    Detail,
    /// Only in text meant for people (a summary of detail columns).
    Summary,
}

/// A column: its machine name (with its unit, as CSV headers), its title for people, and
/// where it is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The CSV name, unit included (`wall_s`).
    pub key: &'static str,
    /// The title in text (`wall time, s`).
    pub title: &'static str,
    /// Where it is shown.
    pub show: Show,
    /// Whether its cells are [`Cell::Spread`]s (or missing): CSV gives it three columns.
    pub spread: bool,
    /// Whether text leaves it out where every cell is empty ([`Cell::is_empty`]): a column of
    /// notes that most reports do not need.
    pub sparse: bool,
}

const fn always(key: &'static str, title: &'static str) -> Column {
    Column {
        key,
        title,
        show: Show::Always,
        spread: false,
        sparse: false,
    }
}

const fn detail(key: &'static str) -> Column {
    Column {
        key,
        title: key,
        show: Show::Detail,
        spread: false,
        sparse: false,
    }
}

const fn spread(key: &'static str, title: &'static str, show: Show) -> Column {
    Column {
        key,
        title,
        show,
        spread: true,
        sparse: false,
    }
}

const fn sparse(column: Column) -> Column {
    Column {
        sparse: true,
        ..column
    }
}

/// Which of the report's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// One row per group and epoch number: wall and CPU time, throughput, accuracy.
    Epochs,
    /// One row per group: runs, cost and memory.
    Groups,
    /// One row per group with a target accuracy: time and cost to it.
    Target,
    /// One row per study figure and matching group: the replay beside the study.
    Study,
}

impl TableKind {
    /// Every table, in report order.
    pub const ALL: [TableKind; 4] = [
        TableKind::Epochs,
        TableKind::Groups,
        TableKind::Target,
        TableKind::Study,
    ];

    /// A short machine name (`epochs`): the CSV file is `report-<name>.csv`.
    pub fn name(self) -> &'static str {
        match self {
            TableKind::Epochs => "epochs",
            TableKind::Groups => "groups",
            TableKind::Target => "target",
            TableKind::Study => "study",
        }
    }
}

/// A table: its columns and its rows, each row one cell per column.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Which table.
    pub kind: TableKind,
    /// The columns.
    pub columns: Vec<Column>,
    /// The rows.
    pub rows: Vec<Vec<Cell>>,
}

/// The columns that name a group, first in the epoch, group and target tables.
const GROUP_COLUMNS: [Column; 26] = [
    detail("label"),
    always("config", "configuration"),
    detail("platform"),
    always("implementation", "implementation"),
    always("step", "step"),
    always("backend", "backend"),
    Column {
        key: "setup",
        title: "setup",
        show: Show::Summary,
        spread: false,
        sparse: false,
    },
    sparse(Column {
        key: "note",
        title: "note",
        show: Show::Summary,
        spread: false,
        sparse: false,
    }),
    detail("dataset"),
    detail("hidden_units"),
    detail("batch_size"),
    detail("learning_rate"),
    detail("order"),
    detail("init_weights"),
    detail("threads_requested"),
    detail("threads_used"),
    detail("gpu_share"),
    detail("throttle_method"),
    detail("device"),
    detail("samples"),
    detail("target_accuracy"),
    detail("host"),
    detail("host_cpu"),
    detail("host_cores"),
    detail("learned"),
    detail("reference_accuracy"),
];

/// A group's cells of [`GROUP_COLUMNS`]; `hosts` says whether the report has rows of more
/// than one machine (the setup then names the group's).
fn group_cells(g: &GroupReport, hosts: bool) -> Vec<Cell> {
    vec![
        Cell::Text(g.label.clone()),
        Cell::Text(g.config.clone()),
        Cell::Text(g.platform.clone()),
        Cell::Text(g.implementation.clone()),
        Cell::Text(g.step.clone()),
        Cell::Text(g.backend.clone()),
        Cell::Text(setup(g, hosts)),
        Cell::Text(note(g)),
        Cell::Text(g.dataset.clone()),
        Cell::Count(g.hidden_units.into()),
        Cell::Count(g.batch_size.into()),
        Cell::Number(g.learning_rate),
        Cell::Text(g.order.clone()),
        Cell::Text(g.init_weights.clone()),
        Cell::Count(g.threads_requested.into()),
        Cell::Count(g.threads_used.into()),
        Cell::number(g.gpu_share),
        Cell::Text(g.throttle_method.clone()),
        Cell::Text(g.device.clone()),
        Cell::count(g.samples),
        Cell::fraction(g.target_accuracy),
        Cell::Text(g.host.clone()),
        Cell::Text(g.host_cpu.clone()),
        Cell::Count(g.host_cores.into()),
        Cell::flag(g.learning.as_ref().map(|l| l.learned)),
        Cell::fraction(g.learning.as_ref().map(|l| l.reference)),
    ]
}

/// A group's note for people: `⚠ did not learn (26.67 % vs 93.95 %)` where its accuracy is far
/// below its workload's reference ([`crate::Learning`]); empty otherwise.
fn note(g: &GroupReport) -> String {
    match &g.learning {
        Some(l) if !l.learned => format!(
            "⚠ did not learn ({} vs {})",
            percent(l.accuracy),
            percent(l.reference)
        ),
        _ => String::new(),
    }
}

/// An epoch's time-slice misses in one cell: `<run id>: <miss>` per run that missed its share,
/// joined with `; ` (`r1: busy 0.43, 2.35x the unthrottled time`); empty where none did.
fn misses(e: &EpochReport) -> String {
    e.throttle_misses
        .iter()
        .map(|m| format!("{}: {}", m.run_id, m.miss))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The columns of the target table after the group's.
fn target_columns() -> Vec<Column> {
    vec![
        Column {
            key: "target",
            title: "target",
            show: Show::Summary,
            spread: false,
            sparse: false,
        },
        always("runs", "runs"),
        always("missed_runs", "missed"),
        detail("incomplete_runs"),
        detail("converged"),
        detail("scored_runs"),
        detail("dropped_extremes"),
        always("time_to_target_s", "time to target, s"),
        always("cost_to_target", "cost to target"),
        always("currency", "currency"),
        always("images_to_target", "images to target"),
        always("epochs_to_target", "epochs to target"),
    ]
}

/// A group's cells of [`target_columns`]; `None` for a group without a target. Where the
/// scoring gives no figure, the time says why (`did not converge`, `no complete run`).
fn target_cells(g: &GroupReport) -> Option<Vec<Cell>> {
    let t = g.to_target.as_ref()?;
    let why = if t.runs == 0 {
        "no complete run"
    } else {
        "did not converge"
    };
    Some(vec![
        Cell::Fraction(t.target_accuracy),
        Cell::Count(t.runs as u64),
        Cell::Count(t.missed as u64),
        Cell::Count(t.incomplete_runs as u64),
        Cell::flag(Some(t.converged)),
        Cell::Count(t.scored_runs as u64),
        Cell::flag(Some(t.dropped_extremes)),
        t.time_to_target_s
            .map_or_else(|| Cell::Absent(why.to_string()), Cell::Number),
        Cell::number(t.cost_to_target),
        Cell::Text(g.currency.clone()),
        Cell::number(t.images_to_target),
        Cell::number(t.epochs_to_target),
    ])
}

/// The report's tables, in [`TableKind::ALL`]'s order.
pub fn tables(report: &Report) -> Vec<Table> {
    TableKind::ALL
        .iter()
        .map(|&kind| table(kind, report))
        .collect()
}

/// One of the report's tables.
pub fn table(kind: TableKind, report: &Report) -> Table {
    let hosts = report.host.machines.len() > 1 || report.host.cpus.len() > 1;
    let (own, rows): (Vec<Column>, Vec<Vec<Cell>>) = match kind {
        TableKind::Epochs => (
            vec![
                always("epoch", "epoch"),
                always("runs", "runs"),
                sparse(always("stopped_runs", "stopped at target")),
                spread("wall_s", "wall time, s", Show::Always),
                always("user_s_median", "user, s"),
                always("sys_s_median", "sys, s"),
                always("samples_per_s_median", "samples/s"),
                always("test_accuracy_median", "test accuracy"),
                detail("test_loss_median"),
                detail("throttle_misses"),
            ],
            report
                .groups
                .iter()
                .flat_map(|g| {
                    g.epochs.iter().map(move |e| {
                        let mut cells = group_cells(g, hosts);
                        cells.extend([
                            Cell::Count(e.epoch.into()),
                            Cell::Count(e.runs as u64),
                            Cell::Count(e.stopped_runs as u64),
                            Cell::spread(e.wall_s),
                            Cell::number(e.user_s),
                            Cell::number(e.sys_s),
                            Cell::number(e.samples_per_s),
                            Cell::fraction(e.test_accuracy),
                            Cell::number(e.test_loss),
                            Cell::Text(misses(e)),
                        ]);
                        cells
                    })
                })
                .collect(),
        ),
        TableKind::Groups => (
            vec![
                always("runs", "runs"),
                always("complete_runs", "complete runs"),
                always("epochs_per_run_median", "epochs per run"),
                spread("wall_s", "wall_s", Show::Detail),
                spread("peak_rss_mib", "peak memory, MiB", Show::Always),
                always("ram_gb", "RAM, GB"),
                always("ram_exceeded_runs", "runs over RAM"),
                always("billing", "billing"),
                always("currency", "currency"),
                spread("cost_per_run", "cost per run", Show::Always),
                always("cost_background_per_run_median", "in background mode"),
                always("cost_per_1000_epochs", "per 1,000 epochs"),
            ],
            report
                .groups
                .iter()
                .map(|g| {
                    let mut cells = group_cells(g, hosts);
                    cells.extend([
                        Cell::Count(g.runs as u64),
                        Cell::Count(g.complete_runs as u64),
                        g.epochs_per_run
                            .map_or(Cell::Missing, |s| Cell::Count(s.median.round() as u64)),
                        Cell::spread(g.wall_s),
                        Cell::Spread(g.peak_rss_mib),
                        Cell::Number(g.ram_gb),
                        Cell::Count(g.ram_exceeded_runs as u64),
                        Cell::Text(g.billing.clone()),
                        Cell::Text(g.currency.clone()),
                        Cell::spread(g.cost_per_run),
                        Cell::number(g.cost_background_per_run.map(|s| s.median)),
                        Cell::number(g.cost_per_1000_epochs),
                    ]);
                    cells
                })
                .collect(),
        ),
        TableKind::Target => (
            target_columns(),
            report
                .groups
                .iter()
                .filter_map(|g| {
                    let mut cells = group_cells(g, hosts);
                    cells.extend(target_cells(g)?);
                    Some(cells)
                })
                .collect(),
        ),
        TableKind::Study => {
            let columns = vec![
                always("config", "configuration"),
                always("implementation", "implementation"),
                always("label", "replay"),
                always("study_wall_s", "study wall time, s"),
                always("replay_wall_s", "replay wall time, s"),
                always("wall_ratio", "ratio"),
                always("study_accuracy", "study accuracy"),
                detail("accuracy_per_platform"),
                always("replay_accuracy", "replay accuracy"),
                always("replay_accuracy_epoch", "after epoch"),
                detail("accuracy_ratio"),
                always("accuracy_points", "difference, points"),
                always("note", "note"),
            ];
            let rows = report
                .study
                .iter()
                .map(|c| {
                    let per_platform = if c.accuracy_per_platform {
                        "true"
                    } else {
                        "false"
                    };
                    vec![
                        Cell::Text(c.config.clone()),
                        Cell::Text(c.implementation.clone()),
                        c.label.clone().map_or(Cell::Missing, Cell::Text),
                        Cell::number(c.study_wall_s),
                        Cell::number(c.replay_wall_s),
                        Cell::number(c.wall_ratio),
                        Cell::fraction(c.study_accuracy),
                        Cell::Text(per_platform.to_string()),
                        Cell::fraction(c.replay_accuracy),
                        c.replay_accuracy_epoch
                            .map_or(Cell::Missing, |e| Cell::Count(e.into())),
                        Cell::number(c.accuracy_ratio),
                        c.accuracy_points.map_or(Cell::Missing, Cell::Signed),
                        Cell::Text(c.note.clone().unwrap_or_default()),
                    ]
                })
                .collect();
            return Table {
                kind,
                columns,
                rows,
            };
        }
    };
    Table {
        kind,
        columns: GROUP_COLUMNS.iter().copied().chain(own).collect(),
        rows,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::report::tests::row;
    use replay_store::ResultsSet;

    #[test]
    fn every_row_has_a_cell_per_column() {
        let rows = vec![
            row("r1", "g2.mig", "manual", 1, 120.0, 2.6, 0.92),
            row("r1", "g2.mig", "manual", 2, 125.0, 2.7, 0.9382),
            row("k1", "c1.32", "burn", 1, 46.0, 1.7664, 0.9127),
        ];
        let report = Report::build(
            &ResultsSet {
                rows,
                ..ResultsSet::default()
            },
            &[],
        );
        let tables = tables(&report);
        let counts: Vec<usize> = tables.iter().map(|t| t.rows.len()).collect();
        assert_eq!(counts, [3, 2, 0, 0]);
        for table in &tables {
            assert!(table.rows.iter().all(|r| r.len() == table.columns.len()));
            let mut keys: Vec<&str> = table.columns.iter().map(|c| c.key).collect();
            keys.sort_unstable();
            keys.dedup();
            assert_eq!(
                keys.len(),
                table.columns.len(),
                "{:?}: unique keys",
                table.kind
            );
        }
    }
}
