"""The variational autoencoder: objective, training CLI, sampling from its latent."""

import json

import numpy as np
import pytest

from common.errors import ParameterError
from conftest import TINY_MODELS, set_args
from generate.trained_model import TrainedModel
from models.vae import VariationalAutoencoder, build_vae_parts, sample_latents
from train import autoencoder as train_autoencoder


def test_kl_term_is_the_closed_form_and_beta_weights_it():
    encoder, decoder = build_vae_parts((16, 16, 1), (4,), (3,), (2,), latent_dim=3)
    images = np.random.default_rng(0).uniform(size=(2, 16, 16, 1)).astype("float32")
    vae = VariationalAutoencoder(encoder, decoder, beta=0.5)
    total, reconstruction, kl = (float(v) for v in vae.objective(images, training=False))
    mu, log_var = (np.asarray(v) for v in encoder(images))
    expected_kl = np.mean(-0.5 * np.sum(1 + log_var - mu**2 - np.exp(log_var), axis=1))
    assert kl == pytest.approx(expected_kl, rel=1e-5, abs=1e-6)
    assert total == pytest.approx(reconstruction + 0.5 * kl, rel=1e-5)
    with pytest.raises(ParameterError, match="beta=-1"):
        VariationalAutoencoder(encoder, decoder, beta=-1)


def test_latents_depend_on_their_own_seed_only():
    a, b = sample_latents([3, 4], 8), sample_latents([4], 8)
    assert a.shape == (2, 8) and np.array_equal(a[1], b[0])


def test_vae_trains_saves_and_samples(tiny_dataset, tmp_path):
    run_dir = tmp_path / "vae"
    pairs = [f"data_dir={tiny_dataset}", f"run_dir={run_dir}", "epochs=1", "steps_per_epoch=2", "validation_batches=1",
             "variational=true", "beta=0.1", *TINY_MODELS["autoencoder"]]
    assert train_autoencoder.main(set_args(pairs)) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["model"] == "vae" and {"reconstruction", "kl", "val_kl"} <= set(summary["final_metrics"])
    model = TrainedModel(run_dir)
    assert model.kind == "vae" and model.data_shape == (128, 128)
    samples = model.spectrograms(seeds=[0, 1])
    assert samples.shape == (2, 128, 128) and 0 <= samples.min() and samples.max() <= 1
    np.testing.assert_allclose(model.spectrograms(seeds=[1])[0], samples[1], atol=1e-6)
    assert not np.allclose(samples[0], samples[1])


def test_bad_beta_is_named(tiny_dataset, tmp_path, capsys):
    pairs = [f"data_dir={tiny_dataset}", f"run_dir={tmp_path / 'v'}", "variational=true", "beta=-0.5"]
    assert train_autoencoder.main(set_args(pairs)) == 2
    assert "beta=-0.5" in capsys.readouterr().err


def test_generate_sounds_samples_a_vae(tiny_dataset, tmp_path):
    from generate import sounds

    run_dir = tmp_path / "vae"
    pairs = [f"data_dir={tiny_dataset}", f"run_dir={run_dir}", "epochs=1", "steps_per_epoch=1", "validation_batches=0",
             "variational=true", *TINY_MODELS["autoencoder"]]
    assert train_autoencoder.main(set_args(pairs)) == 0
    out = tmp_path / "out"
    assert sounds.main(["--model", str(run_dir), "--num", "2", "--seed", "7", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["kind"] == "vae" and report["seeds"] == [7, 8] and (out / "generated_01.wav").is_file()
