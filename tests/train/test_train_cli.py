"""CPU smoke tests of the training CLIs on the tiny dataset, including resume after a kill."""

import csv

import keras
import pytest
import yaml

from models.sampler_folder import load_sampler
from train import autoencoder as train_autoencoder
from train import diffusion as train_diffusion
from train import callbacks

TINY_DDIM = [
    "widths=[8,16]", "block_depth=1", "attention_levels=[1]", "patch_size=4", "embedding_dims=8",
    "num_heads=2", "batch_size=4", "steps_per_epoch=2", "validation_batches=1", "sampling_steps=2",
]


def overrides(pairs):
    return [arg for pair in pairs for arg in ("--set", pair)]


def test_autoencoder_cli(tiny_dataset, tmp_path):
    run = tmp_path / "ae"
    argv = overrides([f"data_dir={tiny_dataset}", f"run_dir={run}", "conv_filters=[4,8]", "conv_kernels=[3,3]",
                      "conv_strides=[2,2]", "latent_dim=8", "batch_size=4", "epochs=2", "steps_per_epoch=2"])
    assert train_autoencoder.main(argv) == 0
    for name in ("autoencoder.keras", "config.yaml", "transform.json", "normalisation.json", "history.csv",
                 "history.png", "summary.json"):
        assert (run / name).is_file(), name
    model = keras.saving.load_model(run / "autoencoder.keras", safe_mode=True)
    assert model.output_shape == (None, 128, 128, 1)
    assert yaml.safe_load((run / "config.yaml").read_text())["latent_dim"] == 8
    assert (run / "checkpoints" / "checkpoint.npz").is_file()  # kept: more epochs train on from it


class _Killed(Exception):
    pass


def test_diffusion_cli_resumes_after_a_kill(tiny_dataset, tmp_path, monkeypatch):
    run = tmp_path / "ddim"
    argv = overrides([f"data_dir={tiny_dataset}", f"run_dir={run}", "epochs=2"] + TINY_DDIM)

    class KillInSecondEpoch(callbacks.TimeBudget):
        def on_train_batch_end(self, batch, logs=None):
            if int(self.model.optimizer.iterations.numpy()) == 3:
                raise _Killed()

    monkeypatch.setattr(callbacks, "TimeBudget", KillInSecondEpoch)
    with pytest.raises(_Killed):
        train_diffusion.main(argv)
    assert (run / "checkpoints" / "checkpoint.npz").is_file()
    assert not (run / "network.keras").exists()

    monkeypatch.undo()
    assert train_diffusion.main(argv) == 0
    with open(run / "history.csv") as f:
        epochs = [int(row["epoch"]) for row in csv.DictReader(f)]
    assert epochs == [0, 1]  # the second run only ran the epoch the first one had not finished
    summary = yaml.safe_load((run / "summary.json").read_text())
    assert summary["optimizer_steps"] == 4  # optimizer state came back from the checkpoint
    assert summary["resumed_from_step"] == 2
    model = load_sampler(run)
    assert model.generate(num_images=1, diffusion_steps=2).shape == (1, 128, 128, 1)

    # started again once finished, it trains no further; with more epochs it goes on
    assert train_diffusion.main(argv) == 0
    assert yaml.safe_load((run / "summary.json").read_text())["optimizer_steps"] == 4
    assert train_diffusion.main(overrides([f"data_dir={tiny_dataset}", f"run_dir={run}", "epochs=3"] + TINY_DDIM)) == 0
    assert yaml.safe_load((run / "summary.json").read_text())["optimizer_steps"] == 6


def test_diffusion_cli_refuses_a_checkpoint_of_another_config(tiny_dataset, tmp_path, capsys):
    run = tmp_path / "ddim"
    base = [f"data_dir={tiny_dataset}", f"run_dir={run}", "epochs=1"]
    assert train_diffusion.main(overrides(base + TINY_DDIM)) == 0
    config_before = (run / "config.yaml").read_text()
    changed = [pair if not pair.startswith("widths=") else "widths=[8,8]" for pair in TINY_DDIM]
    capsys.readouterr()
    assert train_diffusion.main(overrides(base + changed)) == 2
    err = capsys.readouterr().err
    assert "refusing to resume" in err and "widths" in err and "[8, 16]" in err
    assert (run / "config.yaml").read_text() == config_before  # nothing overwritten


def test_diffusion_cli_bad_config(tiny_dataset, tmp_path, capsys):
    assert train_diffusion.main(overrides([f"data_dir={tiny_dataset}", "bogus_key=1"])) == 2
    assert "bogus_key" in capsys.readouterr().err
    assert train_diffusion.main(overrides([f"data_dir={tmp_path / 'missing'}"])) == 2
    assert "missing" in capsys.readouterr().err
    assert train_diffusion.main(overrides([f"data_dir={tiny_dataset}", f"run_dir={tmp_path / 'r'}", "patch_size=3"] )) == 2
    assert "divisible" in capsys.readouterr().err
