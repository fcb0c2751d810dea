#!/usr/bin/env bash
# Times the GPU path on this machine's GPU: g2.mig (4 vCPUs, 1/8 of an A100) replayed with the
# fused step unthrottled, as a MIG slice (spatial) and as a time slice, the autodiff step
# unthrottled, and the fused step on the CPU (flex) for comparison; then the workloads 28x1,
# 512x256 and 4096x1024 (hidden units x batch size) on the whole GPU, on a 1/8 MIG-like slice,
# on all the host's cores (flex), and in PyTorch on the same GPU (scripts/torch_baseline.py:
# an eager loop and a CUDA-graph loop of the same arithmetic), where PyTorch with CUDA is
# installed. Prints one table.
#
#   scripts/gpu-check.sh [RUNNER] [OUT]
#
# RUNNER: a runner built with wgpu (default target/release/runner, from
#         `cargo build --release -p replay-runner --features wgpu`).
# OUT:    folder for the result CSVs, one subfolder per case (default results-gpu-check).
# MNIST is found the way the runner finds it (MNIST_DIR, ./data/mnist, ...).
# LIMIT=N trains every case on the first N images instead of a whole epoch (a quick check);
# AUTODIFF_LIMIT=N does so for the autodiff case alone (its dispatch-bound epoch is slow);
# REPEAT=N runs every case but the autodiff one N times (the runner prints the median).
# WORKLOADS="28x1 512x256 4096x1024" picks the workloads (empty for none); PYTHON picks the
# Python with PyTorch (default python3); MNIST_DIR must be set for the PyTorch loops.
set -uo pipefail

runner=${1:-target/release/runner}
out=${2:-results-gpu-check}
config=configs/g2mig.toml
limit=()
if [[ -n ${LIMIT:-} ]]; then
    limit=(--limit "$LIMIT")
fi
autodiff_limit=("${limit[@]}")
if [[ -n ${AUTODIFF_LIMIT:-} ]]; then
    autodiff_limit=(--limit "$AUTODIFF_LIMIT")
fi

if [[ ! -x $runner ]]; then
    echo "gpu-check: no runner at $runner; build one with: cargo build --release -p replay-runner --features wgpu" >&2
    exit 1
fi

# case name, then the runner's flags for it
cases=(
    "fused-unthrottled|--gpu-share 1"
    "fused-spatial-1/8|--gpu-share-method spatial"
    "fused-time-slice-1/8|--gpu-share-method time-slice"
    "autodiff-unthrottled|--step autodiff --gpu-share 1"
    "fused-cpu-flex|--backend flex"
)
cores=$(nproc)
for workload in ${WORKLOADS-28x1 512x256 4096x1024}; do
    shape=(--hidden-units "${workload%x*}" --batch-size "${workload#*x}")
    cases+=(
        "$workload-fused-unthrottled|--gpu-share 1 ${shape[*]}"
        "$workload-fused-spatial-1/8|--gpu-share-method spatial ${shape[*]}"
        "$workload-fused-cpu-flex-all-cores|--backend flex --threads $cores ${shape[*]}"
    )
done

# A short run first: the GPU driver compiles the kernels once and caches them, and the first
# case would otherwise time that compilation.
echo "== warm-up (not timed): runner --config $config --gpu-share 1 --limit 4096"
"$runner" --config "$config" --out "$out/warm-up" --quiet --gpu-share 1 --limit 4096 >/dev/null

failed=0
for entry in "${cases[@]}"; do
    name=${entry%%|*}
    read -r -a flags <<<"${entry#*|}"
    dir="$out/${name//\//-of-}"
    extra=("${limit[@]}")
    [[ -n ${REPEAT:-} ]] && extra+=(--repeat "$REPEAT")
    [[ $name == autodiff-* ]] && extra=("${autodiff_limit[@]}")
    echo "== $name: runner --config $config ${flags[*]} ${extra[*]}"
    if ! "$runner" --config "$config" --out "$dir" --quiet "${flags[@]}" "${extra[@]}"; then
        echo "gpu-check: case $name failed" >&2
        failed=1
    fi
done

# The same loop in PyTorch on the same GPU, where PyTorch has CUDA (its own table rows).
python=${PYTHON:-python3}
torch_rows=()
if [[ -n ${WORKLOADS-x} ]] && "$python" -c 'import torch, sys; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
    for workload in ${WORKLOADS-28x1 512x256 4096x1024}; do
        echo "== $workload: torch_baseline.py --hidden ${workload%x*} --batch ${workload#*x}"
        if ! lines=$("$python" "$(dirname "$0")/torch_baseline.py" "${MNIST_DIR:?set MNIST_DIR for the PyTorch loops}" \
            --hidden "${workload%x*}" --batch "${workload#*x}"); then
            echo "gpu-check: PyTorch on $workload failed" >&2
            failed=1
            continue
        fi
        while read -r loop hidden batch wall accuracy; do
            torch_rows+=("| $workload-$loop | cuda | PyTorch $loop | none | 1 | 60000 | $wall | | | $accuracy |")
        done <<<"$lines"
    done
else
    echo "== PyTorch loops skipped: $python has no PyTorch with CUDA"
fi

echo
echo "| case | device | step | throttle_method | threads_used | samples | wall_s | user_s | sys_s | test_accuracy |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
for entry in "${cases[@]}"; do
    name=${entry%%|*}
    for csv in "$out/${name//\//-of-}"/*.csv; do
        [[ -f $csv ]] || continue
        # Fields are quoted where they hold commas; this reads the columns by name.
        python3 - "$name" "$csv" <<'EOF'
import csv, sys
name, path = sys.argv[1], sys.argv[2]
with open(path, newline="") as f:
    for row in csv.DictReader(f):
        cells = [row[k] for k in ("device", "step", "throttle_method", "threads_used",
                                  "samples", "wall_s", "user_s", "sys_s", "test_accuracy")]
        print("| " + " | ".join([name] + cells) + " |")
EOF
    done
done
for row in "${torch_rows[@]}"; do
    echo "$row"
done
exit $failed
