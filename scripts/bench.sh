#!/usr/bin/env bash
# Seconds per training epoch of every training step on every backend (the epoch_speed
# benchmark), with the same-run baselines beside them: the plain-Rust floor and the numpy
# epoch of the study's network (floor.rs and numpy_baseline.py, from BASELINES).
#
#   scripts/bench.sh [RUNS]        (default 3 runs of each; prints medians, min and max)
#
# BASELINES: folder with floor.rs and numpy_baseline.py (default ../shared/bench); without it
#            the baselines are skipped, and the script says so.
# PYTHON:    a Python with numpy (default python3; e.g. python3 -m venv /tmp/np &&
#            /tmp/np/bin/pip install numpy, then PYTHON=/tmp/np/bin/python).
# MNIST_DIR: the four MNIST .gz files (default data/mnist, where scripts/fetch-mnist.sh puts them).
# FEATURES:  cargo features of the benchmark (default: flex, ndarray and wgpu).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
baselines=${BASELINES:-../shared/bench}
python=${PYTHON:-python3}
mnist=$(realpath "${MNIST_DIR:-data/mnist}")
features=${FEATURES:---features=replay-backend/flex,replay-backend/ndarray,replay-backend/wgpu}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

[[ -f $mnist/train-images-idx3-ubyte.gz ]] || {
    echo "bench.sh: no MNIST in $mnist; run scripts/fetch-mnist.sh or set MNIST_DIR" >&2
    exit 1
}

median_min_max() {
    sort -g | awk '{v[NR]=$1} END {if (NR) {m=v[int((NR+1)/2)]; printf "%.3f | %.3f | %.3f | %.2f", m, v[1], v[NR], m*1e6/60000}}'
}

floor_times=()
numpy_times=()
have_floor=0
have_numpy=0
if [[ -f $baselines/floor.rs ]]; then
    rustc -O -C target-cpu=native "$baselines/floor.rs" -o "$tmp/floor"
    mkdir -p "$tmp/raw"
    for f in "$mnist"/*.gz; do gzip -dc "$f" >"$tmp/raw/$(basename "$f" .gz)"; done
    have_floor=1
else
    echo "bench.sh: no $baselines/floor.rs: the plain-Rust floor is skipped" >&2
fi
if [[ -f $baselines/numpy_baseline.py ]] && "$python" -c "import numpy" 2>/dev/null; then
    have_numpy=1
else
    echo "bench.sh: no numpy baseline ($baselines/numpy_baseline.py, or numpy in $python): skipped" >&2
fi

# The baselines, alternating, before the benchmark's own alternating runs.
for _ in $(seq "$runs"); do
    if ((have_floor)); then floor_times+=("$("$tmp/floor" "$tmp/raw" | cut -d' ' -f1)"); fi
    if ((have_numpy)); then numpy_times+=("$(MNIST_DIR=$mnist "$python" "$baselines/numpy_baseline.py")"); fi
done

MNIST_DIR=$mnist cargo bench -q -p replay-model "$features" --bench epoch_speed -- "$runs" 2>/dev/null |
    tee "$tmp/bench.md"

if ((have_floor)); then
    echo "| baseline: floor.rs, plain Rust (same run) | $(printf '%s\n' "${floor_times[@]}" | median_min_max) |"
fi
if ((have_numpy)); then
    echo "| baseline: numpy_baseline.py, numpy $("$python" -c 'import numpy; print(numpy.__version__)') (same run) | $(printf '%s\n' "${numpy_times[@]}" | median_min_max) |"
fi
