#!/usr/bin/env bash
# A sweep split across a cluster's nodes by a Slurm job array: each array task runs its shard
# of the sweep (`runner sweep` reads SLURM_ARRAY_TASK_ID, _MIN and _COUNT), alone on its node
# (--exclusive: timing runs must not share a machine), and appends to a results folder of its
# own host under RESULTS, so no two machines ever write the same file. `runner report RESULTS`
# reads every host's folder and shows which host ran which rows.
#
#   sbatch --array=0-7 scripts/slurm-sweep.sh RUNNER RESULTS [SWEEP FLAGS AND CONFIGS...]
#
# RUNNER:  the runner binary, on storage every node sees (an absolute path, or one relative to
#          the folder sbatch was called from).
# RESULTS: the results folder on shared storage; each host writes RESULTS/<host name>/.
# The rest goes to `runner sweep` as it is: configurations (default: all of configs/, relative
# to the submit folder), --implementations, --seeds, --repeat, --epochs, --limit, --data-dir...
# Every node must find MNIST: pass --data-dir on shared storage, or export MNIST_DIR.
#
# Example, 8 nodes, every configuration, both implementations, 3 seeds:
#   sbatch --array=0-7 scripts/slurm-sweep.sh "$PWD/target/release/runner" "$PWD/results" \
#          --implementations burn,manual --seeds 1,2,3 --data-dir "$PWD/data/mnist"
#   # when `squeue --me` shows none of them left:
#   target/release/runner report results
#SBATCH --job-name=replay-sweep
#SBATCH --nodes=1
#SBATCH --ntasks=1
#SBATCH --exclusive
#SBATCH --output=replay-sweep-%A_%a.out
set -euo pipefail

if [[ $# -lt 2 ]]; then
    echo "usage: sbatch --array=0-N scripts/slurm-sweep.sh RUNNER RESULTS [SWEEP FLAGS AND CONFIGS...]" >&2
    exit 2
fi
runner=$1
results=$2
shift 2
if [[ -z ${SLURM_ARRAY_TASK_ID:-} ]]; then
    echo "slurm-sweep.sh: not a job array task; submit it with sbatch --array=0-N" >&2
    exit 2
fi

host=$(hostname -s)
echo "slurm-sweep.sh: array task ${SLURM_ARRAY_TASK_ID} of job ${SLURM_ARRAY_JOB_ID:-?} on ${host}"
# Runs already complete anywhere under RESULTS (another host's folder too: a requeued task may
# land on another node) are skipped, so a requeued or resubmitted task runs only what is missing.
exec "$runner" sweep --out "$results/$host" --done-in "$results" --quiet "$@"
