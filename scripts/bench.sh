#!/usr/bin/env bash
# Seconds per training epoch of every training step on every backend, for the study's
# workload and for wider networks and bigger batches (the epoch_speed benchmark), with the
# same-run baselines timed in the same alternation: the numpy epoch of each workload on one
# BLAS thread (workload_baseline.py) and, for the study's workload, the plain-Rust floor
# (floor.rs), both from BASELINES.
#
#   scripts/bench.sh [RUNS]        (default 3 runs of each; prints medians, min and max)
#
# The table is printed and written, headed by the date, commit, CPU model and cores, to
# docs/benchmarks/<date>-<commit>.md, and copied to docs/benchmarks/latest.md (OUT_DIR: another
# folder).
#
# WORKLOADS: hidden units x batch size, comma-separated (default 28x1,28x32,28x256,512x1,
#            512x32,512x256).
# THREADS:   thread counts to time the Burn steps on (default 1,2).
# STEPS:     the Burn steps to time (default fused,autodiff).
# BACKENDS:  the backends to time (default every one compiled in).
# BASELINES: folder with floor.rs and workload_baseline.py (default ../shared/bench); without
#            it the baselines are skipped, and the script says so.
# PYTHON:    a Python with numpy (default python3; e.g. python3 -m venv /tmp/np &&
#            /tmp/np/bin/pip install numpy, then PYTHON=/tmp/np/bin/python).
# MNIST_DIR: the four MNIST .gz files (default data/mnist, where scripts/fetch-mnist.sh puts them).
# FEATURES:  cargo feature flags of the benchmark (default --all-features: flex, ndarray and
#            wgpu, built as the tests build them, so no dependency is rebuilt).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
workloads=${WORKLOADS:-28x1,28x32,28x256,512x1,512x32,512x256}
threads=${THREADS:-1,2}
baselines=${BASELINES:-../shared/bench}
python=${PYTHON:-python3}
mnist=$(realpath "${MNIST_DIR:-data/mnist}")
features=${FEATURES:---all-features}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[[ -f $mnist/train-images-idx3-ubyte.gz ]] || {
    echo "bench.sh: no MNIST in $mnist; run scripts/fetch-mnist.sh or set MNIST_DIR" >&2
    exit 1
}

args=(--runs "$runs" --workloads "$workloads" --threads "$threads" --steps "${STEPS:-fused,autodiff}" --manual)
[[ -z ${BACKENDS:-} ]] || args+=(--backends "$BACKENDS")
if [[ -f $baselines/floor.rs ]]; then
    rustc -O -C target-cpu=native "$baselines/floor.rs" -o "$tmp/floor"
    mkdir -p "$tmp/raw"
    for f in "$mnist"/*.gz; do gzip -dc "$f" >"$tmp/raw/$(basename "$f" .gz)"; done
    args+=(--floor "$tmp/floor $tmp/raw")
else
    echo "bench.sh: no $baselines/floor.rs: the plain-Rust floor is skipped" >&2
fi
if [[ -f $baselines/workload_baseline.py ]] && "$python" -c "import numpy" 2>/dev/null; then
    script=$(realpath "$baselines/workload_baseline.py")
    echo "numpy $("$python" -c 'import numpy; print(numpy.__version__)'), one BLAS thread" >&2
    args+=(--numpy "OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $python $script $mnist")
else
    echo "bench.sh: no numpy baseline ($baselines/workload_baseline.py, or numpy in $python): skipped" >&2
fi

MNIST_DIR=$mnist cargo bench -q --workspace $features --bench epoch_speed -- "${args[@]}" 2>/dev/null >"$tmp/table"

out=${OUT_DIR:-docs/benchmarks}
commit=$(git rev-parse --short=10 HEAD 2>/dev/null || echo unknown)
dirty=$(git status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo " (with uncommitted changes)" || true)
cpu=$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || uname -m)
day=$(date -u +%Y-%m-%d)
mkdir -p "$out"
{
    echo "# Epoch times, $day"
    echo
    echo "- commit: $commit$dirty"
    echo "- CPU: ${cpu:-unknown}, $(nproc) logical cores"
    echo "- rustc: $(rustc --version)"
    echo "- command: \`scripts/bench.sh $runs\` (WORKLOADS=$workloads THREADS=$threads STEPS=${STEPS:-fused,autodiff} BACKENDS=${BACKENDS:-all compiled})"
    echo
    echo '```'
    cat "$tmp/table"
    echo '```'
} >"$out/$day-$commit.md"
cp "$out/$day-$commit.md" "$out/latest.md"
cat "$tmp/table"
echo "bench.sh: written to $out/$day-$commit.md and $out/latest.md" >&2
