#!/usr/bin/env bash
# Submit a certification as a Slurm array of N shards and a dependent merge job:
#   docs/ci/slurm/submit.sh N [RUN_DIR]
# Environment: TIPC_PYTHON (interpreter with pytest-tipc), TIPC_CONFIGS, TIPC_PYTEST_ARGS,
# TIPC_BASELINE (a previous run's tipc.json); TIPC_WAIT=1 waits for the merge (sbatch --wait) and
# exits with its code. Prints the run folder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
shards=${1:?usage: submit.sh N [RUN_DIR]}
run_dir=$(mkdir -p "${2:-tipc-runs/$(date -u +%Y%m%dT%H%M%SZ)}" && cd "${2:-tipc-runs/$(date -u +%Y%m%dT%H%M%SZ)}" && pwd)
export TIPC_RUN_DIR="$run_dir"
array=$(sbatch --parsable --export=ALL --array="1-$shards" --output="$run_dir/shard-%a.out" "$here/tipc-array.sbatch")
echo "$run_dir"
wait=()
if [ -n "${TIPC_WAIT:-}" ]; then wait=(--wait); fi
sbatch --parsable --export=ALL --dependency="afterany:${array%%;*}" --output="$run_dir/merge.out" \
  "${wait[@]}" "$here/tipc-merge.sbatch" >/dev/null
