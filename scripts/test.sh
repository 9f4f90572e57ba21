#!/usr/bin/env bash
# Installs everything (scripts/setup.sh) and runs the test suite on the CPU.
# Usage: bash scripts/test.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=2 CUDA_VISIBLE_DEVICES=""
.venv/bin/python -m pytest -q "$@"
