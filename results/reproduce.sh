#!/usr/bin/env bash
# The CPU reproduction of the paper's Table 1 comparison (S0 against 3E) behind docs/reproduction.md:
# 5 seeds per space on the embedded digits, ENAS as the authors ran it (their defaults) with the
# child and the controller's budget scaled to a CPU, the authors' shared-weight evaluation and the
# honest protocol (best candidate retrained from scratch), mean ± std and an exact permutation test.
#
#   bash results/reproduce.sh          # ~10-15 minutes on 2 cores; writes results/cpu_s0_3e/
set -eu
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
python -m arts experiment --spaces S0,3E --seeds 5 --jobs 2 --threads 1 --dataset digits \
  --epochs 6 --layers 6 --channels 16 --batch-size 64 --lr 0.1 --ctrl-steps 5 --ctrl-aggregate 10 \
  --retrain-epochs 5 --out results/cpu_s0_3e "$@"
