#!/usr/bin/env bash
# Submits a restoresim sweep to Slurm: a job array of SHARDS tasks
# (sweep.sbatch) and a merge job (merge.sbatch) that starts once every task
# has ended, whatever its exit code. Prints both job ids.
#   RESTORESIM=$PWD/target/release/restoresim SCENARIO=scenarios/ci-smoke.ron \
#   SEEDS=0..10000000 SHARDS=100 OUT=/shared/sweep deploy/slurm/submit.sh
# Extra arguments go to both sbatch calls (e.g. --partition=batch --time=2:00:00).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
: "${SHARDS:=4}"
: "${SCENARIO:?set SCENARIO}" "${SEEDS:?set SEEDS}" "${OUT:?set OUT}"
export RESTORESIM SCENARIO SEEDS OUT SHARDS MAX_CAPSULES SWEEP_ARGS
mkdir -p "$OUT"
array=$(sbatch --parsable --array="0-$((SHARDS - 1))" --chdir="$PWD" --export=ALL "$@" "$here/sweep.sbatch")
array=${array%%;*}
merge=$(sbatch --parsable --dependency="afterany:$array" --chdir="$PWD" --export=ALL "$@" "$here/merge.sbatch")
echo "sweep array job $array ($SHARDS tasks), merge job ${merge%%;*}"
