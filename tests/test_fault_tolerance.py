"""A training killed with SIGKILL mid-epoch and started again ends as if never killed (issue 5).

The run is a subprocess of ``python -m train.diffusion``; it is killed as soon as its
first step checkpoint appears, then started again with the same command. It must end
at the same optimizer step with the same weights as an uninterrupted run: the same
batches in the same order, with the same noise.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from models.ddim import load_sampler

ROOT = Path(__file__).resolve().parents[1]
TINY = ["widths=[8,16]", "block_depth=1", "attention_levels=[]", "embedding_dims=8", "batch_size=4",
        "epochs=2", "steps_per_epoch=5", "checkpoint_every=2", "validation_batches=1", "sampling_steps=2"]


def _command(data_dir, run_dir):
    pairs = [f"data_dir={data_dir}", f"run_dir={run_dir}"] + TINY
    return [sys.executable, "-m", "train.diffusion", *[a for p in pairs for a in ("--set", p)]]


def _checkpoint_step(path):
    try:
        with np.load(path) as archive:
            return json.loads(str(archive["meta"]))["step"]
    except (OSError, ValueError, KeyError):
        return None


def test_sigkill_mid_epoch_then_restart_ends_like_an_uninterrupted_run(tiny_dataset, tmp_path):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    killed_run = tmp_path / "killed"
    process = subprocess.Popen(_command(tiny_dataset, killed_run), cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    checkpoint = killed_run / "checkpoints" / "checkpoint.npz"
    deadline = time.monotonic() + 240
    while _checkpoint_step(checkpoint) is None:
        assert process.poll() is None, "the run ended before its first checkpoint"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    killed_at = _checkpoint_step(checkpoint)
    assert killed_at % 5 != 0  # mid-epoch: a step checkpoint, not an epoch's end
    assert not (killed_run / "network.keras").exists()

    resumed = subprocess.run(_command(tiny_dataset, killed_run), cwd=ROOT, env=env, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"Resuming from the checkpoint at step {killed_at}" in resumed.stdout
    uninterrupted = subprocess.run(_command(tiny_dataset, tmp_path / "whole"), cwd=ROOT, env=env,
                                   capture_output=True, text=True, timeout=300)
    assert uninterrupted.returncode == 0, uninterrupted.stderr[-3000:]

    summaries = [json.loads((run / "summary.json").read_text()) for run in (killed_run, tmp_path / "whole")]
    assert summaries[0]["optimizer_steps"] == summaries[1]["optimizer_steps"] == 10
    assert summaries[0]["resumed_from_step"] == killed_at
    weights = [load_sampler(run).network.get_weights() for run in (killed_run, tmp_path / "whole")]
    for resumed_weight, whole_weight in zip(*weights):
        np.testing.assert_allclose(resumed_weight, whole_weight, rtol=0, atol=1e-6)


def test_checkpoint_fingerprint_treats_missing_keys_as_defaults(tmp_path):
    import pytest

    from common.errors import ParameterError
    from train.checkpoint import FILE_NAME, TrainingCheckpoint, fingerprint
    from train.config import DiffusionTrainConfig

    old = fingerprint(DiffusionTrainConfig())
    old.pop("text_max_tokens")  # a checkpoint written before this key existed
    old["widths"] = [32, 64, 96, 128]
    (tmp_path / "checkpoints").mkdir()
    np.savez(tmp_path / "checkpoints" / FILE_NAME, meta=np.array(json.dumps({"step": 7, "fingerprint": old, "paths": []})))
    assert TrainingCheckpoint(tmp_path / "checkpoints", DiffusionTrainConfig()).check() == 7
    assert TrainingCheckpoint(tmp_path / "checkpoints", DiffusionTrainConfig(epochs=99)).check() == 7  # restartable key
    with pytest.raises(ParameterError, match="text_max_tokens: 16 in the checkpoint, 20 now"):
        TrainingCheckpoint(tmp_path / "checkpoints", DiffusionTrainConfig(text_max_tokens=20)).check()
