#!/usr/bin/env bash
# The Array API benchmark on a CUDA GPU: run as is on a machine with CUDA,
# torch and this package installed (pip install -e . torch).
#   1. 20,000 x 100, float32: ours on the GPU vs a hand-written PyTorch loop
#      (target: within 1.2x);
#   2. the same problem scaled to 1,000,000 rows: ours on the GPU vs
#      scikit-learn's MLP on the host CPUs (target: at least 10x faster).
set -euo pipefail
cd "$(dirname "$0")/.."
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA device'; print(torch.cuda.get_device_name())"
python benchmarks/bench_train.py --namespace torch --device cuda --dtype float32 \
    --n-samples 20000 --epochs 10 --repeats 5
python benchmarks/bench_train.py --namespace torch --device cuda --dtype float32 \
    --n-samples 1000000 --epochs 2 --repeats 2 --with-sklearn
