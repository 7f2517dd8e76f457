#!/bin/sh
# learners.sh: the learner and metric benchmarks side by side in one run,
# on one core each, with the machine's load printed first so figures can
# be judged.  Usage: bench/learners.sh [BUILD_DIR]   (default: build)
set -eu
build=${1:-build}
here=$(dirname "$0")
echo "load=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"
echo "== lr (weighted samples/s, one core; target >= 5e6 at batch 1024)"
"$build/bench_lr" 1
echo "== mlp (samples/s, one core; targets >= 80e3 at 1024, 50e3 at 76)"
"$build/bench_mlp" 3
echo "== mlp in PyTorch (same network, one thread)"
/usr/bin/python3 "$here/torch_mlp.py" 3
echo "== metrics on 16 M predictions (target < 0.5 s)"
"$build/bench_metrics"
