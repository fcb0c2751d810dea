//! Every column of the results CSV: its name, unit and meaning, in the header's order. The
//! reference page `docs/reference/results-csv.md` is printed from this table (`runner reference
//! csv`), and a test holds the table to [`HEADER`](crate::HEADER).

/// One column of the results CSV.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The name in the header.
    pub name: &'static str,
    /// Its unit, or the values it takes.
    pub unit: &'static str,
    /// What it holds (Markdown).
    pub meaning: &'static str,
}

/// The columns of [`HEADER`](crate::HEADER), in its order.
pub const COLUMNS: &[Column] = &[
    Column {
        name: "run_id",
        unit: "text",
        meaning: "one run (each `--repeat` and each sweep item is its own): `<unix seconds>-<host>-<process id>-<n>`",
    },
    Column {
        name: "started_utc",
        unit: "RFC 3339",
        meaning: "when the run started",
    },
    Column {
        name: "config",
        unit: "text",
        meaning: "configuration name (`g2.mig`)",
    },
    Column {
        name: "platform",
        unit: "text",
        meaning: "platform name",
    },
    Column {
        name: "implementation",
        unit: "`burn` \\| `manual`",
        meaning: "what was trained",
    },
    Column {
        name: "step",
        unit: "`fused` \\| `autodiff (lit pixels)` \\| `autodiff (dense)` \\| `manual`",
        meaning: "the training step taken, spelled as it is asked for (`--step`, `--implementation manual`): the Burn MLP's fused step, or its autodiff step with the variant in parentheses (`lit pixels` on a CPU backend, `dense` on wgpu); `manual` for the hand-written rule. Files of 0.2.0 and earlier say `lit-pixels`, `dense` and `fast`; the report reads them as today's names",
    },
    Column {
        name: "order",
        unit: "`shuffled` \\| `file`",
        meaning: "training order",
    },
    Column {
        name: "init_weights",
        unit: "`seeded` \\| `sha256:<16 hex digits>`",
        meaning: "where the initial weights came from: the seed, or the `--init-weights` file (the first 16 hex digits of its SHA-256)",
    },
    Column {
        name: "backend",
        unit: "`flex` \\| `ndarray` \\| `wgpu` \\| `plain-rust`",
        meaning: "Burn backend; `plain-rust` for the hand-written rule, which uses none",
    },
    Column {
        name: "device",
        unit: "text",
        meaning: "adapter name (`cpu`, or the GPU, e.g. `NVIDIA H200`, `llvmpipe (LLVM 15.0.6, 256 bits)`)",
    },
    Column {
        name: "threads_requested",
        unit: "count",
        meaning: "vCPUs the configuration or `--threads` asked for",
    },
    Column {
        name: "threads_used",
        unit: "count",
        meaning: "threads the training ran on: the rayon pool's size (`threads_requested` capped by `host_cores`); 1 for the hand-written rule, and for the fused CPU step unless a step has work to share (batch >= 2 and batch x hidden units >= 8,192)",
    },
    Column {
        name: "gpu_share",
        unit: "fraction in [1/1024, 1]",
        meaning: "GPU share emulated; empty without a GPU",
    },
    Column {
        name: "throttle_method",
        unit: "text",
        meaning: "how the share was applied: `spatial (K of N units)` (`, assumed` after N for a GPU in no table), `time-slice` (`time-slice (busy 0.43, 2.35x the unthrottled time)` where an epoch missed its share: the busy share of the wall time, and the wall time over its steps' time at full speed), `none (spatial share not enforceable on the autodiff step)`, each with ` + memory cap` where the device reports its memory; `none (runs on the CPU)` for a GPU share on a CPU backend or the hand-written rule; `none` otherwise",
    },
    Column {
        name: "ram_gb",
        unit: "GB",
        meaning: "the configuration's RAM",
    },
    Column {
        name: "peak_rss_mib",
        unit: "MiB",
        meaning: "peak resident memory of the process so far (getrusage)",
    },
    Column {
        name: "ram_exceeded",
        unit: "`true` \\| `false`",
        meaning: "peak memory above the configuration's RAM",
    },
    Column {
        name: "dataset",
        unit: "`mnist` \\| `fashion-mnist`",
        meaning: "the dataset trained and tested on",
    },
    Column {
        name: "hidden_units",
        unit: "count",
        meaning: "hidden units of the network (the study's: 28)",
    },
    Column {
        name: "batch_size",
        unit: "images",
        meaning: "images per update",
    },
    Column {
        name: "learning_rate",
        unit: "-",
        meaning: "SGD learning rate",
    },
    Column {
        name: "seed",
        unit: "-",
        meaning: "seed of weights and shuffles",
    },
    Column {
        name: "epoch",
        unit: "count from 1",
        meaning: "the epoch this row describes (with `--eval-every`, several rows, one per span between evaluations, share it)",
    },
    Column {
        name: "samples",
        unit: "images",
        meaning: "training images seen in this epoch, or in this span of it (a run stopped at its target ends its last epoch early)",
    },
    Column {
        name: "wall_s",
        unit: "s",
        meaning: "wall time of the epoch's training (evaluation excluded; time-slice idling included; the training images are uploaded to the device before the first epoch's clock starts; a run's first epoch on wgpu includes compiling its kernels)",
    },
    Column {
        name: "user_s",
        unit: "s",
        meaning: "user CPU time of the process during the epoch, all threads",
    },
    Column {
        name: "sys_s",
        unit: "s",
        meaning: "system CPU time of the process during the epoch",
    },
    Column {
        name: "samples_per_s",
        unit: "images/s",
        meaning: "`samples / wall_s`",
    },
    Column {
        name: "train_loss",
        unit: "-",
        meaning: "mean training loss of the epoch, or span (Keras \"MSE\": mean over 10 outputs of the squared error)",
    },
    Column {
        name: "train_accuracy",
        unit: "fraction",
        meaning: "training accuracy over the epoch's (or span's) images",
    },
    Column {
        name: "test_loss",
        unit: "-",
        meaning: "test-set loss after the epoch or span (empty when interrupted)",
    },
    Column {
        name: "test_accuracy",
        unit: "fraction",
        meaning: "test-set accuracy after the epoch or span (empty when interrupted)",
    },
    Column {
        name: "images",
        unit: "images",
        meaning: "training images the run had trained at the end of the row, its rows so far together (empty in files older than version 4)",
    },
    Column {
        name: "train_s",
        unit: "s",
        meaning: "training wall time of the run at the end of the row, its rows so far together, evaluations excluded: the time to accuracy (DAWNBench's rule)",
    },
    Column {
        name: "eval_s",
        unit: "s",
        meaning: "wall time of the test-set evaluation that ends the row (empty when not evaluated)",
    },
    Column {
        name: "target_accuracy",
        unit: "fraction",
        meaning: "the test accuracy the run stops at (`--target-accuracy`); empty for a run without one",
    },
    Column {
        name: "target_reached",
        unit: "`true` \\| `false`",
        meaning: "for a run with a target, whether this row's evaluation reached it (then the run's last row); empty for a run without one",
    },
    Column {
        name: "billing",
        unit: "text",
        meaning: "how the cost was computed; ends in ` at the background rate` under `--background`",
    },
    Column {
        name: "price_source",
        unit: "text",
        meaning: "where the price comes from, and its date",
    },
    Column {
        name: "cost",
        unit: "`currency`",
        meaning: "what the epoch cost as it was run: at the background rate under `--background`; with per-minute round-up, the run's started minutes so far less those already billed",
    },
    Column {
        name: "cost_background",
        unit: "`currency`",
        meaning: "the epoch's cost at the background rate (empty where the tariff has none)",
    },
    Column {
        name: "currency",
        unit: "ISO code",
        meaning: "`RUB`",
    },
    Column {
        name: "host_cpu",
        unit: "text",
        meaning: "this host's CPU model",
    },
    Column {
        name: "host_cores",
        unit: "count",
        meaning: "this host's logical cores",
    },
    Column {
        name: "version",
        unit: "text",
        meaning: "runner version and git commit (`0.2.0 (2b9bf7e94a)`); shuffled orders differ before 0.2.0 (see [Training steps](../training.md))",
    },
    Column {
        name: "status",
        unit: "`ok` \\| `interrupted` \\| `failed`",
        meaning: "how the epoch ended",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_columns_are_the_header_in_its_order() {
        let names: Vec<_> = COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(names, crate::HEADER);
    }
}
