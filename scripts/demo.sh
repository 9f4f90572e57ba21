#!/usr/bin/env bash
# The main job on the built-in default: installs everything, renders the Bach
# chorales (real music, from music21's corpus), preprocesses them into log-STFT
# clips, and samples the shipped DDIM (the autoencoder baseline and the latent DDIM too), writing
# generated WAVs beside original test clips into outputs/. The score-roll DDIM writes MIDI
# (rendered to WAV by FluidSynth), harmonises a test chorale's soprano and continues that chorale after 4 bars.
# Usage: bash scripts/demo.sh            (about 6 minutes on a 2-core CPU)
#        TRAIN=1 bash scripts/demo.sh    (also retrain the models first: the autoencoder, 10 min; the default DDIM,
#                                         its 9100 + 6250 + 800 + 5000 + 2000 steps, about 9 hours; the score-roll DDIM's 6050 + 2000 + 1500 + 3000 + 3000 + 3000 + 3000 + 3000 steps, about 6.5 hours)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONWARNINGS=ignore  # 3: no C++ INFO/WARNING/ERROR lines (e.g. "no CUDA driver" on CPU)
PY=.venv/bin/python

# Steps below skip what is already done, so the script can be re-run.
$PY -m preprocessing.chorales --out data/chorales || [ $? -eq 1 ]          # 1 = some pieces skipped (listed)
[ -f data/chorales_stft/manifest.csv ] || $PY -m preprocessing.run --config configs/chorales_stft.yaml || [ $? -eq 1 ]
[ -f data/chorales_score_roll_keys/manifest.csv ] || $PY -m preprocessing.run --config configs/chorales_score_roll_keys.yaml || [ $? -eq 1 ]
if [ "${TRAIN:-0}" = 1 ]; then
    [ -f data/chorales_score_roll/manifest.csv ] || $PY -m preprocessing.run --config configs/chorales_score_roll.yaml || [ $? -eq 1 ]
    $PY -m train.autoencoder --config configs/chorales_autoencoder.yaml
    # the default DDIM as the shipped one was made: 9100 steps without frequency mixing (it trained in seven
    # starts, on a shared CPU), then 6250 steps with it at a constant learning rate (two runs there: 2250, then 4000),
    # initialised from those weights, then 800 steps of cosine decay to 0, then 5000 more steps from those weights
    # (100 warm-up steps to 4e-4, then a cosine decay to 0), then 2000 more from those (to 3e-4, then a decay)
    $PY -m train.diffusion --config configs/chorales_ddim.yaml --set max_train_minutes=null --set epochs=182 \
        --set frequency_mixing_levels=[] --set run_dir=outputs/runs/chorales_ddim_stage1
    $PY -m train.diffusion --config configs/chorales_ddim.yaml --set max_train_minutes=null --set epochs=125 \
        --set init_from=outputs/runs/chorales_ddim_stage1 --set ema_momentum=0.999 --set warmup_steps=200 \
        --set run_dir=outputs/runs/chorales_ddim_stage2
    $PY -m train.diffusion --config configs/chorales_ddim.yaml --set max_train_minutes=null --set epochs=16 \
        --set init_from=outputs/runs/chorales_ddim_stage2 --set ema_momentum=0.998 --set warmup_steps=100 \
        --set learning_rate_schedule=cosine --set decay_steps=700 --set run_dir=outputs/runs/chorales_ddim_stage3
    $PY -m train.diffusion --config configs/chorales_ddim.yaml --set max_train_minutes=null --set epochs=100 \
        --set init_from=outputs/runs/chorales_ddim_stage3 --set ema_momentum=0.999 --set warmup_steps=100 \
        --set learning_rate_schedule=cosine --set decay_steps=4900 --set learning_rate=4e-4 \
        --set run_dir=outputs/runs/chorales_ddim_stage4
    $PY -m train.diffusion --config configs/chorales_ddim.yaml --set max_train_minutes=null --set epochs=40 \
        --set init_from=outputs/runs/chorales_ddim_stage4 --set ema_momentum=0.999 --set warmup_steps=100 \
        --set learning_rate_schedule=cosine --set decay_steps=1900 --set learning_rate=3e-4
    # the score-roll DDIM as the shipped one was made: 6050 steps unconditional (two starts, 80 min of a shared CPU),
    # then 2000 steps with masks and frequency attention, initialised from them, then 1500 steps on the
    # key-normalised rolls (every chorale in C major / A minor) with a cosine decay, then 3000 more from those
    # (100 warm-up steps to 4e-4, then a cosine decay to 0), then 3000 more to 3e-4, then 3000 more to 3e-4
    # with self-conditioning (the config's; its zero-initialised input added to the fifth stage's network), then
    # 3000 more self-conditioned steps the same way, then 3000 more with half the batches unconditional
    $PY -m train.diffusion --config configs/chorales_score_roll_ddim.yaml --set self_conditioning=false --set max_train_minutes=null --set epochs=121 \
        --set conditioning=null --set frequency_attention_levels=[] --set run_dir=outputs/runs/chorales_score_roll_stage1
    $PY -m train.diffusion --config configs/chorales_score_roll_ddim.yaml --set self_conditioning=false --set max_train_minutes=null --set epochs=40 \
        --set init_from=outputs/runs/chorales_score_roll_stage1 --set ema_momentum=0.999 --set warmup_steps=200 \
        --set run_dir=outputs/runs/chorales_score_roll_stage2
    $PY -m train.diffusion --config configs/chorales_score_roll_ddim.yaml --set self_conditioning=false --set max_train_minutes=null --set epochs=30 \
        --set init_from=outputs/runs/chorales_score_roll_stage2 --set data_dir=data/chorales_score_roll_keys \
        --set ema_momentum=0.999 --set learning_rate_schedule=cosine --set warmup_steps=100 --set decay_steps=1400 \
        --set run_dir=outputs/runs/chorales_score_roll_stage3
    $PY -m train.diffusion --config configs/chorales_score_roll_ddim.yaml --set self_conditioning=false --set max_train_minutes=null --set epochs=60 \
        --set init_from=outputs/runs/chorales_score_roll_stage3 --set data_dir=data/chorales_score_roll_keys \
        --set ema_momentum=0.999 --set learning_rate_schedule=cosine --set warmup_steps=100 --set decay_steps=2900 \
        --set learning_rate=4e-4 --set run_dir=outputs/runs/chorales_score_roll_stage4
    $PY -m train.diffusion --config configs/chorales_score_roll_ddim.yaml --set self_conditioning=false --set max_train_minutes=null --set epochs=60 \
        --set init_from=outputs/runs/chorales_score_roll_stage4 --set data_dir=data/chorales_score_roll_keys \
        --set ema_momentum=0.999 --set learning_rate_schedule=cosine --set warmup_steps=100 --set decay_steps=2900 \
        --set learning_rate=3e-4 --set run_dir=outputs/runs/chorales_score_roll_stage5
    $PY -m train.diffusion --config configs/chorales_score_roll_ddim.yaml --set max_train_minutes=null --set epochs=60 \
        --set init_from=outputs/runs/chorales_score_roll_stage5 --set data_dir=data/chorales_score_roll_keys \
        --set ema_momentum=0.999 --set learning_rate_schedule=cosine --set warmup_steps=100 --set decay_steps=2900 \
        --set learning_rate=3e-4 --set run_dir=outputs/runs/chorales_score_roll_stage6
    $PY -m train.diffusion --config configs/chorales_score_roll_ddim.yaml --set max_train_minutes=null --set epochs=60 \
        --set init_from=outputs/runs/chorales_score_roll_stage6 --set data_dir=data/chorales_score_roll_keys \
        --set ema_momentum=0.999 --set learning_rate_schedule=cosine --set warmup_steps=100 --set decay_steps=2900 \
        --set learning_rate=3e-4 --set run_dir=outputs/runs/chorales_score_roll_stage7
    # the eighth stage draws the unconditional task three times as often (half the batches); training seed 2
    # was the best of three seeds of it (FAD 0.93, 0.99, 1.24: docs/MEASUREMENTS.md)
    $PY -m train.diffusion --config configs/chorales_score_roll_ddim.yaml --set max_train_minutes=null --set epochs=60 \
        --set init_from=outputs/runs/chorales_score_roll_stage7 --set data_dir=data/chorales_score_roll_keys \
        --set ema_momentum=0.999 --set learning_rate_schedule=cosine --set warmup_steps=100 --set decay_steps=2900 \
        --set learning_rate=3e-4 --set "mask_kinds=[none,none,none,prefix,span,top_voice]" --set seed=2
    # the learned critic that chooses among its candidates is fitted to these weights' samples (critic.json, 3 min)
    $PY -m generate.fit_critic --model saved_models/chorales_score_roll_ddim
fi
$PY -m generate.sounds --model saved_models/chorales_ddim --num 4 --out outputs/chorales_ddim
$PY -m generate.sounds --model saved_models/chorales_autoencoder --num 4 --out outputs/chorales_autoencoder
$PY -m generate.sounds --model saved_models/chorales_latent_ddim --num 4 --out outputs/chorales_latent_ddim   # latent diffusion
# score rolls: MIDI files and their FluidSynth renderings; then a test chorale's soprano harmonised
$PY -m generate.sounds --model saved_models/chorales_score_roll_ddim --num 4 --out outputs/chorales_score_roll_ddim
$PY -m generate.sounds --model saved_models/chorales_score_roll_ddim --harmonise test:0 --num 1 \
    --out outputs/chorales_score_roll_harmonised
# ... and the same chorale continued after its first 4 bars, on the bar grid (Bach's own continuation beside it)
$PY -m generate.sounds continue --model saved_models/chorales_score_roll_ddim --input test:0 --prompt-bars 4 --duration 12 \
    --out outputs/chorales_score_roll_continued/continued.wav
echo "Listen: open outputs/chorales_ddim/index.html (players and spectrograms; also outputs/*/index.html), or the WAVs and outputs/*/comparison.png"
