#!/usr/bin/env bash
# The SynTone benchmark's --full profile split over N processes that share one --out
# (each claims runs through a lock file; see `sigvae benchmark --help`), timed.
#
#   bash benchmarks/syntone_full_parallel.sh N OUT [more `sigvae benchmark` flags]
#
# Each process is single-threaded (--threads 1), so N up to the number of cores; on a
# machine with a GPU every process trains and evaluates on it (TrainConfig's "auto").
# Memory: about 5 GB per process (the 32,000 one-second clips and their train/validation
# split), 10 GB while a process fits PCA or FastICA. Rerunning the same command resumes: finished runs and their scores are reused,
# interrupted training continues from its last epoch. Logs: OUT/logs/process<i>.log;
# the last line printed is the wall time of this invocation.
set -uo pipefail
n=${1:?number of processes}
out=${2:?output folder}
shift 2
mkdir -p "$out/logs"
start=$(date +%s)
pids=()
for i in $(seq "$n"); do
    python -m sigvae benchmark --full --threads 1 --no-progress --out "$out" "$@" \
        >"$out/logs/process$i.log" 2>&1 &
    pids+=($!)
    sleep 0.2
done
failed=0
for pid in "${pids[@]}"; do
    wait "$pid" || failed=$((failed + 1))
done
echo "syntone --full with $n processes: $failed failed, wall $(($(date +%s) - start)) s"
[ "$failed" -eq 0 ]
