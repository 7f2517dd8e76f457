#!/bin/sh
# protocol.sh: wall time and peak memory of whole `dfbench run`s, the
# figures behind the README's speed table.
#
#   [CRITEO=1] bench/protocol.sh [BUILD_DIR [WORK_DIR]]
#   (defaults: build, $TMPDIR or /tmp)
#
# Case "reference": the workload a PyTorch implementation of the ES-DFM
# protocol was timed on, on this kind of machine (2 cores): the paper's
# MLP, pretrain, oracle, vanilla, fnw, fnc and fsiw with their
# pre-training, on a 1.6 M-click, 50-day log (pre-training on days
# [0, 30), hourly stream over [30, 50)).  PyTorch needs about 22 minutes
# (1320 s) for it; dfbench's target is a tenth, 132 s.
# Cases "criteo_lr" and "criteo_mlp" (with CRITEO=1): every method at
# Criteo scale (15.9 M clicks, 60 days) with each learner.
#
# Each log is generated once (not timed) and read with --data, so the
# time is the run's own: reading, pre-training, the stream and scoring.
# Output: key=value lines on stdout, one block per case.
set -eu
build=${1:-build}
work=${2:-${TMPDIR:-/tmp}}/dfbench-protocol
criteo=${CRITEO:-0}
mkdir -p "$work"
dfb="$build/dfbench"
echo "load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
echo "cores=$(nproc)"

# run_case NAME LOG ARGS...: time one run, print its figures.
run_case() {
  name=$1 log=$2
  shift 2
  out="$work/$name"
  /usr/bin/time -f "%e %M" -o "$work/$name.time" \
    "$dfb" -q run --data "$log" "$@" -o "$out" --force >"$work/$name.txt"
  read -r secs kb <"$work/$name.time"
  echo "case=$name"
  echo "${name}_seconds=$secs"
  echo "${name}_peak_rss_mb=$((kb / 1024))"
  awk -F, -v n="$name" 'NR > 1 && $1 != "bayes" {
    printf "%s_%s_auc=%.4f\n", n, $1, $2 }' "$out/summary.csv"
}

# The reference workload.
ref="$work/ref_1.6m_50d.tsv"
[ -s "$ref" ] || "$dfb" -q generate --set generator.clicks=1600000 \
  --set generator.days=50 -o "$ref" --force
run_case reference "$ref" --set stream.pretrain=30d \
  --set model.type=mlp --methods pretrain,oracle,vanilla,fnw,fnc,fsiw
secs=$(cut -d' ' -f1 "$work/reference.time")
echo "reference_pytorch_seconds=1320"
echo "reference_target_seconds=132"
awk -v s="$secs" 'BEGIN { printf "reference_speedup_vs_pytorch=%.1f\n",
  1320 / s }'

[ "$criteo" = 1 ] || exit 0
big="$work/criteo_15.9m_60d.tsv"
[ -s "$big" ] || "$dfb" -q generate -o "$big" --force
run_case criteo_lr "$big" --set model.type=lr
run_case criteo_mlp "$big" --set model.type=mlp
