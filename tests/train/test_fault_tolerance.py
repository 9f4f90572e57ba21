"""A training killed with SIGKILL mid-epoch and started again ends as if never killed (issue 5).

The run is a subprocess of ``python -m train.diffusion``; it is killed as soon as its
first step checkpoint appears, then started again with the same command. It must end
at the same optimizer step with the same weights as an uninterrupted run: the same
batches in the same order, with the same noise. A run killed between an epoch's
``history.csv`` row and that epoch's checkpoint logs the epoch once when it resumes.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from models.sampler_folder import load_sampler

ROOT = Path(__file__).resolve().parents[2]
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


class Killed(BaseException):
    """Stands for a kill: not an Exception, so nothing on the way catches it."""


def _history_epochs(run_dir):
    import csv

    with (run_dir / "history.csv").open(newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def test_killed_between_an_epochs_csv_row_and_its_checkpoint_logs_the_epoch_once(tiny_dataset, tmp_path, monkeypatch):
    import pytest

    from conftest import TINY_MODELS, set_args
    from train import autoencoder as train_autoencoder
    from train.checkpoint import TrainingCheckpoint

    run_dir = tmp_path / "run"
    pairs = [f"data_dir={tiny_dataset}", f"run_dir={run_dir}", "epochs=3", "steps_per_epoch=2", "validation_batches=0",
             *TINY_MODELS["autoencoder"]]
    save = TrainingCheckpoint.save

    def killed_at_step_4(self, model, step):  # epoch 1's checkpoint: its CSV row is already written
        if step == 4:
            raise Killed()
        return save(self, model, step)

    monkeypatch.setattr(TrainingCheckpoint, "save", killed_at_step_4)
    with pytest.raises(Killed):
        train_autoencoder.main(set_args(pairs))
    assert _history_epochs(run_dir) == [0, 1]  # the situation: a row for epoch 1 ...
    assert _checkpoint_step(run_dir / "checkpoints" / "checkpoint.npz") == 2  # ... that no checkpoint covers

    monkeypatch.setattr(TrainingCheckpoint, "save", save)
    assert train_autoencoder.main(set_args(pairs)) == 0
    assert _checkpoint_step(run_dir / "checkpoints" / "checkpoint.npz") == 6
    assert _history_epochs(run_dir) == [0, 1, 2]  # epoch 1 ran again and is logged once


def test_drop_history_from_keeps_the_header_and_earlier_rows(tmp_path):
    from train.run_folder import drop_history_from

    path = tmp_path / "history.csv"
    header = "epoch,learning_rate,loss,val_loss\r\n"
    rows = [f'{e},0.001,{1.0 / (e + 1)},"[1, 2]"\r\n' for e in range(4)]
    path.write_bytes((header + "".join(rows)).encode())
    assert drop_history_from(path, 4) == 0 and path.read_bytes() == (header + "".join(rows)).encode()
    assert drop_history_from(path, 2) == 2
    assert path.read_bytes() == (header + rows[0] + rows[1]).encode()  # byte for byte
    assert drop_history_from(path, 0) == 2 and not path.exists()  # no rows left: the next run writes a new header
    assert drop_history_from(path, 0) == 0
