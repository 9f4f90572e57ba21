#!/usr/bin/env bash
# Installs everything (scripts/setup.sh) and runs the test suite on the CPU.
# Usage: bash scripts/test.sh [extra pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# Headless Chromium for the listening pages' browser test (tests/generate/test_listening_page_browser.py,
# skipped without it). Debian's apt has a real package; Ubuntu's `chromium` is a snap stub, so only where
# `apt-cache policy` offers a candidate that is not the snap transition package. Never fatal. (grep reads all
# its input here: `grep -q` would stop early, and under pipefail apt-cache's SIGPIPE (141) fails the test.)
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
        && apt-cache policy chromium 2>/dev/null | grep "Candidate: [0-9]" >/dev/null \
        && ! apt-cache show chromium 2>/dev/null | grep -i "snap" >/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "Installing chromium (headless, for the listening pages' browser test) with apt-get..."
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null \
        || echo "note: chromium not installed; the browser test will be skipped"
fi
export TF_CPP_MIN_LOG_LEVEL=2 CUDA_VISIBLE_DEVICES=""
.venv/bin/python -m pytest -q "$@"
