#!/usr/bin/env bash
# End-to-end test of scripts/slurm-sweep.sh on a real, single-node Slurm cluster started here:
# munge, slurmctld and slurmd on localhost from Debian's packages (slurm-wlm, munge), a
# minimal slurm.conf written for the test, a 3-task job array of a small sweep of three
# configurations x two seeds, then `runner report` on the shared results folder. Passes when
# every item ran exactly once, the rows come from all three tasks, and the report read them.
# The daemons are stopped at the end, pass or fail.
#
#   scripts/test-slurm.sh [RUNNER]     (default target/release/runner; needs root and MNIST:
#                                       MNIST_DIR or ./data/mnist, as the runner finds it)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
runner=$(realpath "${1:-target/release/runner}")
deadline_s=${SLURM_TEST_TIMEOUT_S:-100}

fail() {
    echo "test-slurm: FAIL: $*" >&2
    exit 1
}
for tool in munged slurmctld slurmd sbatch sinfo squeue scancel python3; do
    command -v "$tool" >/dev/null || fail "'$tool' not found; install Debian's slurm-wlm and munge"
done
[[ -x $runner ]] || fail "no runner at $runner; build it with cargo build --release -p replay-runner"
[[ $(id -u) -eq 0 ]] || fail "run it as root: it starts munge and the Slurm daemons"

work=$(mktemp -d /tmp/replay-slurm.XXXXXX)
chmod 755 "$work"
host=$(hostname -s)
started_munge=0
pids=()
cleanup() {
    local status=$?
    local job
    job=$(head -n 1 "$work/sbatch.log" 2>/dev/null | tr -dc '0-9')
    if [[ -n $job ]]; then
        scancel --quiet "$job" 2>/dev/null || true
        for _ in $(seq 50); do
            [[ -z $(squeue -h -j "$job" 2>/dev/null) ]] && break
            sleep 0.2
        done
        pkill -9 -f "slurmstepd: \[$job[._]" 2>/dev/null || true
    fi
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    done
    if [[ $started_munge -eq 1 && -f /run/munge/munged.pid ]]; then
        kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
    fi
    if [[ $status -ne 0 ]]; then
        for log in "$work"/*.log "$work"/out/*.out; do
            [[ -f $log ]] && { echo "--- $log"; tail -n 20 "$log"; }
        done
    fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT INT TERM

echo "== munge"
if ! munge -n </dev/null >/dev/null 2>&1; then
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    [[ -f /etc/munge/munge.key ]] || fail "no /etc/munge/munge.key (reinstall munge)"
    runuser -u munge -- munged
    started_munge=1
    munge -n </dev/null >/dev/null || fail "munged does not answer"
fi

echo "== slurm.conf for one node, $host"
port=$((6900 + RANDOM % 500))
mkdir -p "$work/state" "$work/spool" "$work/out"
cat >"$work/slurm.conf" <<EOF
ClusterName=replaytest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/linear
MpiDefault=none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
SchedulerType=sched/backfill
NodeName=$host NodeAddr=127.0.0.1 NodeHostname=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=10 State=UP OverSubscribe=EXCLUSIVE
EOF
export SLURM_CONF=$work/slurm.conf

echo "== slurmctld and slurmd"
slurmctld -D -i -f "$SLURM_CONF" >"$work/slurmctld.stdout.log" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" >"$work/slurmd.stdout.log" 2>&1 &
pids+=($!)
start=$SECONDS
until [[ $(sinfo -h -n "$host" -o %t 2>/dev/null) == idle* ]]; do
    ((SECONDS - start < 30)) || fail "the node did not come up in 30 s: $(sinfo 2>&1 | tail -n 2)"
    sleep 0.5
done
echo "node $host is idle after $((SECONDS - start)) s"

echo "== a 3-task array: 3 configurations x 2 seeds, 200 images each"
results=$work/results
cd "$work/out"
sbatch --parsable --array=0-2 --wait "$repo/scripts/slurm-sweep.sh" "$runner" "$results" \
    "$repo/configs/c14.toml" "$repo/configs/c18.toml" "$repo/configs/c132.toml" \
    --seeds 1,2 --limit 200 >"$work/sbatch.log" 2>&1 &
waiter=$!
start=$SECONDS
while kill -0 "$waiter" 2>/dev/null; do
    if ((SECONDS - start >= deadline_s)); then
        kill "$waiter" 2>/dev/null || true
        fail "the array did not finish in $deadline_s s: $(squeue 2>&1 | tail -n 4)"
    fi
    sleep 1
done
wait "$waiter" || fail "a task of the array failed: $(cat "$work/sbatch.log")"
cd "$repo"
echo "the array finished in $((SECONDS - start)) s"

echo "== runner report on the shared folder"
"$runner" report "$results" --out "$work/report" --configs "$repo/configs" >"$work/report.log" 2>&1 ||
    fail "runner report failed: $(cat "$work/report.log")"

python3 - "$results" "$work/report/report.md" "$work/out" <<'EOF'
import collections, csv, pathlib, re, sys
results, report, out = map(pathlib.Path, sys.argv[1:])
rows = [row for f in sorted(results.rglob("*.csv")) for row in csv.DictReader(open(f, newline=""))]
items = collections.Counter((r["config"], r["implementation"], r["seed"]) for r in rows)
want = {(c, "burn", s) for c in ("c1.4", "c1.8", "c1.32") for s in ("1", "2")}
problems = []
if set(items) != want:
    problems.append(f"items {sorted(items)} != {sorted(want)}")
repeated = {k: n for k, n in items.items() if n != 1}
if repeated:
    problems.append(f"items run more than once: {repeated}")
# run ids are <unix s>-<host>-<pid>-<n>: one process per array task.
tasks = {r["run_id"].rsplit("-", 2)[1] for r in rows}
if len(tasks) != 3:
    problems.append(f"rows come from {len(tasks)} processes, not the 3 array tasks: {sorted(tasks)}")
logs = sorted(p.name for p in out.glob("replay-sweep-*_*.out"))
if len(logs) != 3:
    problems.append(f"{len(logs)} task logs, not 3: {logs}")
text = report.read_text()
m = re.search(r"Read (\d+) rows", text)
if not m or int(m.group(1)) != len(want):
    problems.append(f"the report read {m.group(1) if m else '?'} rows, not {len(want)}")
if problems:
    sys.exit("test-slurm: FAIL: " + "; ".join(problems))
print(f"test-slurm: ok: {len(rows)} rows, every item once, from 3 array tasks ({', '.join(logs)})")
EOF
