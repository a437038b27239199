#!/usr/bin/env bash
# One prepared GPU check for arts.nas (finishes within ~10 minutes on one GPU).
#
#   bash benchmarks/gpu_check.sh            # results under $OUT (default ./gpu_check_out)
#
# Steps (each logged to $OUT/<step>.log; a failing step does not stop the others):
#   1. environment: nvidia-smi, torch/CUDA versions, which optional packages are installed
#   2. a short search on cuda with AMP (3E, 4 epochs) -> $OUT/search_cuda (all outputs, best_arch.json)
#   3. retraining its best architecture on cuda with AMP (3 epochs) -> $OUT/train_cuda
#   4. resume: the search again with --epochs 5 continues from its checkpoint (one more epoch)
#   5. throughput of the shared child network, cuda (fp32 and AMP) vs cpu, in this same run
#      -> $OUT/throughput_*.json and a table in $OUT/summary.txt
#   6. out-of-memory: a deliberately oversized search must fail with the one-line message, exit 2
# $OUT/summary.txt collects the verdict of every step.
set -u
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu_check_out}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"
PY="${PYTHON:-python}"

note() { echo "$*" | tee -a "$SUMMARY"; }
step() {  # step NAME TIMEOUT CMD...
  local name="$1" limit="$2"; shift 2
  local t0=$(date +%s)
  timeout "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  note "[$name] exit $rc in $(( $(date +%s) - t0 ))s"
  return $rc
}

note "== arts.nas GPU check, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >> "$SUMMARY" 2>&1 || note "no nvidia-smi"
"$PY" - >> "$SUMMARY" 2>&1 <<'EOF'
import importlib, torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")
for m in ("sklearn", "matplotlib", "tqdm", "yaml", "sympy", "networkx"):
    try:
        importlib.import_module(m); print(m, "ok")
    except ImportError:
        print(m, "MISSING")
EOF

# the embedded digits need scikit-learn; fall back to synthetic data without it
if "$PY" -c "import sklearn" 2>/dev/null; then DATA=digits; else DATA=synthetic; fi
note "dataset: $DATA"

COMMON=(--dataset "$DATA" --layers 6 --channels 16 --batch-size 64 --lr 0.1 --ctrl-steps 30 --no-progress)
step search_cuda 240 "$PY" -m arts search --space 3E --epochs 4 --device cuda --amp --seed 0 \
  --out "$OUT/search_cuda" "${COMMON[@]}"
tail -n 6 "$OUT/search_cuda.log" >> "$SUMMARY"
[ -f "$OUT/search_cuda/metrics.csv" ] && cat "$OUT/search_cuda/metrics.csv" >> "$SUMMARY"

if [ -f "$OUT/search_cuda/best_arch.json" ]; then
  step train_cuda 120 "$PY" -m arts train "$OUT/search_cuda/best_arch.json" --dataset "$DATA" --epochs 3 \
    --device cuda --amp --batch-size 64 --out "$OUT/train_cuda" --no-progress
  tail -n 2 "$OUT/train_cuda.log" >> "$SUMMARY"
  step check_best 60 "$PY" -m arts check "$OUT/search_cuda/best_arch.json"
  step resume_cuda 120 "$PY" -m arts search --space 3E --epochs 5 --device cuda --amp --seed 0 \
    --out "$OUT/search_cuda" "${COMMON[@]}"
  n=$(($(wc -l < "$OUT/search_cuda/metrics.csv") - 1))
  note "metrics.csv rows after resume: $n (expected 5)"
fi

step throughput_cuda 150 "$PY" benchmarks/bench_train.py --device cuda --steps 40 --json "$OUT/throughput_cuda.json"
step throughput_cuda_amp 150 "$PY" benchmarks/bench_train.py --device cuda --amp --steps 40 --json "$OUT/throughput_cuda_amp.json"
step throughput_cpu 150 "$PY" benchmarks/bench_train.py --device cpu --threads 8 --steps 10 --json "$OUT/throughput_cpu.json"
"$PY" - "$OUT" >> "$SUMMARY" 2>&1 <<'EOF'
import json, os, sys
out = sys.argv[1]
rows = []
for name in ("throughput_cpu", "throughput_cuda", "throughput_cuda_amp"):
    p = os.path.join(out, name + ".json")
    if os.path.exists(p):
        rows += [dict(r, run=name) for r in json.load(open(p))]
cpu = {r["space"]: r["images_per_s"] for r in rows if r["run"] == "throughput_cpu"}
print("| run | space | images/s | vs cpu |")
print("|---|---|---|---|")
for r in rows:
    base = cpu.get(r["space"])
    print(f"| {r['run']} | {r['space']} | {r['images_per_s']:.0f} | {r['images_per_s'] / base:.1f}x |" if base else
          f"| {r['run']} | {r['space']} | {r['images_per_s']:.0f} | - |")
EOF

# out of memory must be a clear one-line error (exit 2), not a traceback
step oom 120 "$PY" -m arts search --space S0 --dataset synthetic:256 --channels 512 --layers 12 --batch-size 4096 \
  --epochs 1 --device cuda --out "$OUT/oom" --no-progress
rc=$?
if [ $rc -eq 2 ] && grep -q "out of memory on cuda" "$OUT/oom.log"; then note "oom: OK ($(tail -n 1 "$OUT/oom.log"))"
else note "oom: UNEXPECTED (exit $rc): $(tail -n 2 "$OUT/oom.log")"; fi

note "== done $(date -u +%Y-%m-%dT%H:%M:%SZ)"
cat "$SUMMARY"
