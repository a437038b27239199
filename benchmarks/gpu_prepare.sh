#!/usr/bin/env bash
# Prepare, on a machine with a package registry, what benchmarks/gpu_check.sh needs on a GPU
# machine that reaches none: a wheelhouse of arts' pure-Python dependencies and a copy of the
# embedded digits (so that neither scikit-learn nor scipy has to travel).
#
#   bash benchmarks/gpu_prepare.sh            # writes runs/gpu_wheels/ (ignored by git; ~10 MB)
#
# Then carry runs/gpu_wheels to the GPU machine with the working tree and run gpu_check.sh there.
# torch itself (with CUDA) must already be installed on the GPU machine: a CUDA wheel is gigabytes.
set -eu
cd "$(dirname "$0")/.."
W="${WHEELS:-$PWD/runs/gpu_wheels}"
PY="${PYTHON:-python}"
mkdir -p "$W"
# pure-Python wheels work on any CPython 3 (and any platform)
"$PY" -m pip download --quiet --only-binary=:all: --no-deps --dest "$W" sympy mpmath networkx tqdm
PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" "$PY" -c "from arts.nas.data import save_digits_copy; save_digits_copy('$W/digits.pt')"
ls -l "$W"
du -sh "$W"
