#!/usr/bin/env bash
# One prepared GPU check for arts.nas, within 8 minutes on one GPU (each step has its own limit).
#
#   bash benchmarks/gpu_prepare.sh             # first, on a machine with a registry (see there)
#   bash benchmarks/gpu_check.sh               # on the GPU machine; results under $OUT
#
# It brings its own dependencies: whatever of sympy/networkx/mpmath/tqdm is missing is installed
# from the carried wheelhouse (runs/gpu_wheels) into runs/gpu_site, with no registry; the digits
# come from the carried copy (no scikit-learn needed).  torch with CUDA must be installed.
#
# Steps (each logged to $OUT/<step>.log; a failing step does not stop the others):
#   1. environment: nvidia-smi, torch/CUDA, the dependencies found or installed
#   2. a reduced S0 search and a reduced 3E search on the digits (32x32), cuda + AMP, same settings
#      -> images/s of the child pass and the epoch time of each, and their ratio
#   3. throughput of the shared child, cuda (fp32, AMP) vs cpu, in this same run, plus the CPU
#      overhead per sampled architecture (benchmarks/bench_train.py)
#   4. out-of-memory: an oversized search must fail with the one-line message, exit 2
# $OUT/summary.txt collects the figures and the verdict of every step.  The step limits add up to
# 405 s, plus start-up.  DEVICE=cpu QUICK=1 runs the same script with tiny settings (a dry run of
# the script itself on a machine without a GPU).
set -u
cd "$(dirname "$0")/.."
ROOT="$PWD"
OUT="${OUT:-$ROOT/runs/gpu_check}"
WHEELS="${WHEELS:-$ROOT/runs/gpu_wheels}"
SITE="$ROOT/runs/gpu_site"
mkdir -p "$OUT"
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"
PY="${PYTHON:-python}"
note() { echo "$*" | tee -a "$SUMMARY"; }
step() {  # step NAME LIMIT CMD...
  local name="$1" limit="$2"; shift 2
  local t0=$(date +%s)
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  note "[$name] exit $rc in $(( $(date +%s) - t0 ))s"
  return $rc
}

note "== arts.nas GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >> "$SUMMARY" 2>&1 || note "no nvidia-smi"
if ! "$PY" -c "import torch" 2>/dev/null; then note "torch is not installed: it cannot be carried (gigabytes); stop"; exit 2; fi
missing=$("$PY" - <<'PYEOF'
import importlib
print(" ".join(m for m in ("sympy", "mpmath", "networkx", "tqdm") if importlib.util.find_spec(m) is None))
PYEOF
)
if [ -n "$missing" ]; then
  note "installing from the carried wheelhouse: $missing"
  "$PY" -m pip install --quiet --no-index --find-links "$WHEELS" --target "$SITE" $missing >> "$SUMMARY" 2>&1 \
    || note "could not install $missing from $WHEELS (run benchmarks/gpu_prepare.sh first)"
fi
export PYTHONPATH="$ROOT:$SITE${PYTHONPATH:+:$PYTHONPATH}"
"$PY" -c "import sklearn" 2>/dev/null || export ARTS_DIGITS_FILE="$WHEELS/digits.pt"
"$PY" - >> "$SUMMARY" 2>&1 <<'PYEOF'
import torch, sympy, networkx
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
print("sympy", sympy.__version__, "networkx", networkx.__version__)
PYEOF

# 2. reduced S0 vs 3E: ENAS's child (12 layers, 36 channels, batch 128) on the digits at 32x32
DEVICE="${DEVICE:-cuda}"
if [ "${QUICK:-0}" = 1 ]; then SIZE=(--layers 3 --channels 8 --batch-size 32); IMG=16; CTRL=(--ctrl-steps 1 --ctrl-aggregate 4)
else SIZE=(--layers 12 --channels 36 --batch-size 128); IMG=32; CTRL=(--ctrl-steps 10 --ctrl-aggregate 20); fi
SEARCH=(--dataset "digits:$IMG" --epochs 2 "${SIZE[@]}" "${CTRL[@]}" --device "$DEVICE" --amp --seed 0 --no-progress)
for sp in S0 3E; do
  rm -rf "$OUT/search_$sp"
  step "search_$sp" 100 "$PY" -m arts search --space "$sp" --out "$OUT/search_$sp" "${SEARCH[@]}"
done
"$PY" - "$OUT" >> "$SUMMARY" 2>&1 <<'PYEOF'
import csv, json, os, sys
out = sys.argv[1]
res = {}
for sp in ("S0", "3E"):
    d = os.path.join(out, f"search_{sp}")
    try:
        rows = list(csv.DictReader(open(os.path.join(d, "metrics.csv"))))
        cfg = json.load(open(os.path.join(d, "run.json")))["config"]
    except OSError:
        print(f"{sp}: no metrics"); continue
    train = 1797 - round(0.2 * 1797) - round(0.2 * 1797)
    imgs = (train // cfg["batch_size"]) * cfg["batch_size"]
    last = rows[-1]
    res[sp] = (imgs / float(last["child_s"]), float(last["epoch_s"]))
    print(f"{sp}: child pass {res[sp][0]:.0f} images/s, epoch {res[sp][1]:.1f}s (child {float(last['child_s']):.1f}s, "
          f"controller {float(last['ctrl_s']):.1f}s, evaluation {float(last['eval_s']):.1f}s), val {float(last['val_acc']):.3f}")
if len(res) == 2:
    print(f"3E / S0: images/s {res['3E'][0] / res['S0'][0]:.2f}, epoch time {res['3E'][1] / res['S0'][1]:.2f}")
PYEOF

# 3. throughput and per-architecture overhead, cuda vs cpu in this run
B=("${SIZE[@]}" --image-size "$IMG")
step bench_cuda 60 "$PY" benchmarks/bench_train.py --device "$DEVICE" --steps 30 "${B[@]}" --json "$OUT/bench_cuda.json"
step bench_cuda_amp 45 "$PY" benchmarks/bench_train.py --device "$DEVICE" --amp --steps 30 "${B[@]}" \
  --json "$OUT/bench_cuda_amp.json"
step bench_cpu 60 "$PY" benchmarks/bench_train.py --device cpu --threads 8 --steps 3 "${B[@]}" --json "$OUT/bench_cpu.json"
for f in bench_cuda bench_cuda_amp bench_cpu; do tail -n 5 "$OUT/$f.log" >> "$SUMMARY"; done

# 4. out of memory must be a clear one-line error (exit 2), not a traceback
if [ "$DEVICE" = cuda ]; then
  step oom 40 "$PY" -m arts search --space S0 --dataset synthetic:256 --channels 512 --layers 12 --batch-size 4096 \
    --epochs 1 --device cuda --out "$OUT/oom" --no-progress
  rc=$?
  if [ $rc -eq 2 ] && grep -q "out of memory on cuda" "$OUT/oom.log"; then note "oom: OK ($(tail -n 1 "$OUT/oom.log"))"
  else note "oom: UNEXPECTED (exit $rc): $(tail -n 2 "$OUT/oom.log")"; fi
fi

note "== done $(date -u +%Y-%m-%dT%H:%M:%SZ)"
cat "$SUMMARY"
