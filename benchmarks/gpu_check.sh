#!/usr/bin/env bash
# The GPU checks, in one call on a machine with a CUDA device (sized for one device call):
#   1. the GPU tests (tests/test_gpu.py, `-m gpu`): every model trains briefly in bf16 mixed
#      precision on the GPU and predicts and evaluates alike on the GPU and the CPU; the image
#      models train compiled; two GPUs train one run with DDP where there are two;
#   2. training throughput on the GPU, bf16, zoo against a hand-written loop on the same model,
#      data and batches, median of 3: classification's cnn on MNIST (images/s,
#      benchmarks/classification_throughput.py), resnet50 on MNIST against torchvision's reference
#      training script (--peer torchvision), the sentiment transformer on SST-2 and the
#      translation transformer on Multi30k (tokens/s, benchmarks/sentiment_training.py and
#      translation_throughput.py: hand-written AMP loops), from DATA_ROOT; and detection's yolo
#      on its embedded demo (images/s, benchmarks/detection.py throughput).
# Without a CUDA device it says so and exits 0: nothing is checked.
#
#   bash benchmarks/gpu_check.sh [DATA_ROOT]      (default ../shared/data)
#
# Where uv cannot install (the device machine reaches no registry), carry the wheels its python
# lacks in .whl/ (zoo's own: `uv build --wheel -o .whl`; and those `pip download` names, e.g.
# optuna, rouge-score, faster-coco-eval, torch-fidelity, fastapi): they are installed into
# /tmp/site first.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_ROOT="${1:-../shared/data}"
if [ -d .whl ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
  PYTHON=(python3)
elif command -v uv >/dev/null; then
  PYTHON=(uv run python)
else
  PYTHON=(python3)
fi
if ! "${PYTHON[@]}" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "gpu_check: no CUDA device here (torch.cuda.is_available() is false): nothing checked"
  exit 0
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
export PYTHONUNBUFFERED=1
"${PYTHON[@]}" -m pytest -m gpu -p no:cacheprovider -n 4 tests/test_gpu.py
GPU=(--data-root "$DATA_ROOT" --accelerator gpu --precision bf16-mixed --repeat 3)
for pair in mnist:classification_throughput.py sst2:sentiment_training.py multi30k_de_en:translation_throughput.py; do
  if [ -d "$DATA_ROOT/${pair%%:*}" ]; then
    "${PYTHON[@]}" "benchmarks/${pair#*:}" "${GPU[@]}"
  else
    echo "gpu_check: no $DATA_ROOT/${pair%%:*}: ${pair#*:} not run"
  fi
done
if [ -d "$DATA_ROOT/mnist" ]; then
  "${PYTHON[@]}" benchmarks/classification_throughput.py "${GPU[@]}" --model resnet50 --peer torchvision --batch-size 128
fi
"${PYTHON[@]}" benchmarks/detection.py throughput --accelerator gpu --precision bf16-mixed --repeat 3
