#!/usr/bin/env bash
# The GPU checks the issues ask for, in one call on a CUDA machine (estimated 10-15 minutes on an
# H100 from earlier per-step rates; not yet run as a whole).
#
#   OUT=/path/for/results bash benchmarks/gpu_checks.sh [quick]
#
# Run from the repository root with hepgraph importable (e.g. PYTHONPATH=$PWD) and a CUDA
# build of torch. Writes, under $OUT (default ./gpu-checks):
#   env.txt             nvidia-smi, torch/CUDA versions
#   cuda_tests.txt      the test suite's CUDA variants (sparse engine vs conv3d on the GPU,
#                       autocast of graph/transformer models; skipped on CPU-only machines)
#   sparse_conv.txt     benchmarks/sparse_conv.py --device cuda (engine vs dense conv3d)
#   training_fp32.txt   benchmarks/training.py --device cuda, 100-step epochs, 4 workers:
#   training_amp.txt    events/s and the loader's share of step time per model family (fp32, bf16)
#   loader_columns.txt  benchmarks/loader_columns.py: per-batch cost with all columns vs the
#                       columns a classifier needs (pinning + host-to-device copy included)
# "quick" skips sparse_conv and uses 40-step epochs. Each step has its own time limit, and a
# failing step does not stop the others (see the exit codes in summary.txt).
set -u
OUT=${OUT:-gpu-checks}
mkdir -p "$OUT"
QUICK=${1:-}
if [ -z "${STEPS:-}" ]; then
    STEPS=100
    [ "$QUICK" = quick ] && STEPS=40
fi
DEVICE=${DEVICE:-cuda}   # DEVICE=cpu STEPS=2: a smoke test of this script on a CPU machine
PY=${PYTHON:-python}
summary="$OUT/summary.txt"
: > "$summary"

step() {  # step NAME LIMIT_S COMMAND...: run with a time limit, log the exit code
    local name=$1 limit=$2
    shift 2
    local t0=$SECONDS
    timeout "$limit" "$@" > "$OUT/$name.txt" 2>&1
    local rc=$?
    echo "$name: exit $rc, $((SECONDS - t0)) s" | tee -a "$summary"
}

{
    nvidia-smi
    $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available() and torch.cuda.get_device_name(0))"
    nproc
} > "$OUT/env.txt" 2>&1

step cuda_tests 600 $PY -m pytest -q -rs -p no:cacheprovider tests/sparse tests/models tests/train -k "cuda or autocast or amp"
if [ "$QUICK" != quick ]; then
    step sparse_conv 600 $PY benchmarks/sparse_conv.py --device "$DEVICE"
fi
DATA=${DATA:-/tmp/hg-gpu-lartpc}
if [ ! -f "$DATA/_manifest.json" ]; then
    step build 300 $PY -m hepgraph build-dataset --source sim-lartpc --events 4096 --out "$DATA" --workers 8 --overwrite
fi
step loader_columns 300 $PY benchmarks/loader_columns.py --data "$DATA" --device "$DEVICE" --batches 100
step training_fp32 900 $PY benchmarks/training.py --data "$DATA" --steps "$STEPS" --batch-size 16 --device "$DEVICE" --workers 4
step training_amp 900 $PY benchmarks/training.py --data "$DATA" --steps "$STEPS" --batch-size 16 --device "$DEVICE" --workers 4 --amp
cat "$summary"
