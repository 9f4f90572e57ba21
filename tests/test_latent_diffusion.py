"""Latent diffusion: spatial (V)AE bottlenecks, encoding a data set, a DDIM trained on latents, decoding its samples."""

import json

import numpy as np
import pytest

from common.errors import ParameterError
from conftest import TINY_MODELS, set_args
from generate.trained_model import TrainedModel
from models.autoencoder import build_autoencoder
from models.vae import VariationalAutoencoder, build_vae_parts, sample_latents
from preprocessing import latents as encode_cli
from train import autoencoder as train_autoencoder
from train import diffusion as train_diffusion
from train.data import SpectrogramData

SPATIAL = ["bottleneck=spatial", "latent_channels=2"]


def test_spatial_bottleneck_shapes_and_reconstruction():
    autoencoder, encoder, decoder = build_autoencoder((32, 16, 1), (4, 8), (3, 3), (2, 2), bottleneck="spatial",
                                                      latent_channels=3)
    images = np.random.default_rng(0).uniform(size=(2, 32, 16, 1)).astype("float32")
    assert tuple(encoder(images).shape) == (2, 8, 4, 3)
    out = np.asarray(autoencoder(images))
    assert out.shape == images.shape and 0 <= out.min() and out.max() <= 1
    assert not any(layer.name == "encoder_flatten" for layer in encoder.layers)
    with pytest.raises(ValueError, match="bottleneck='conv'"):
        build_autoencoder((32, 16, 1), (4,), (3,), (2,), bottleneck="conv")


def test_spatial_vae_kl_sums_over_positions_and_channels():
    encoder, decoder = build_vae_parts((16, 16, 1), (4,), (3,), (2,), latent_dim=3, bottleneck="spatial",
                                       latent_channels=2)
    vae = VariationalAutoencoder(encoder, decoder, beta=0.5)
    assert vae.latent_shape == (8, 8, 2)
    images = np.random.default_rng(1).uniform(size=(3, 16, 16, 1)).astype("float32")
    _, _, kl = (float(v) for v in vae.objective(images, training=False))
    mu, log_var = (np.asarray(v) for v in encoder(images))
    expected = np.mean(-0.5 * np.sum(1 + log_var - mu**2 - np.exp(log_var), axis=(1, 2, 3)))
    assert kl == pytest.approx(expected, rel=1e-5, abs=1e-6)
    latents = sample_latents([5, 6], (8, 8, 2))
    assert latents.shape == (2, 8, 8, 2) and np.array_equal(latents[1], sample_latents([6], (8, 8, 2))[0])


@pytest.fixture(scope="module")
def first_stage(tiny_dataset, tmp_path_factory):
    """A tiny spatial VAE run (32 x 32 x 2 latents of the 128 x 128 clips) and its latent data set."""
    root = tmp_path_factory.mktemp("latent")
    pairs = [f"data_dir={tiny_dataset}", f"run_dir={root / 'vae'}", "epochs=1", "steps_per_epoch=2",
             "validation_batches=0", "variational=true", "beta=0.001", *TINY_MODELS["autoencoder"], *SPATIAL]
    assert train_autoencoder.main(set_args(pairs)) == 0
    assert encode_cli.main(["--autoencoder", str(root / "vae"), "--out", str(root / "latents")]) == 0
    return root


def test_encoded_data_set_matches_the_encoder(first_stage, tiny_dataset):
    import keras

    latents = SpectrogramData(first_stage / "latents")
    source = SpectrogramData(tiny_dataset)
    info = json.loads((first_stage / "latents" / "latent.json").read_text())
    assert info["kind"] == "vae" and info["latent_shape"] == [32, 32, 2] and latents.clip_shape() == (32, 32, 2)
    assert [r["clip_id"] for r in latents.rows] == [r["clip_id"] for r in source.rows]
    assert [r["split"] for r in latents.rows] == [r["split"] for r in source.rows]
    encoder = keras.saving.load_model(first_stage / "vae" / "vae_encoder.keras", compile=False)
    clips = source.load_split("test")
    mu = np.asarray(encoder(clips)[0])
    np.testing.assert_allclose(latents.load_split("test"), mu, atol=1e-5)
    # the data set's decoder is the VAE's
    decoder = keras.saving.load_model(first_stage / "latents" / "latent_decoder.keras", compile=False)
    original = keras.saving.load_model(first_stage / "vae" / "vae_decoder.keras", compile=False)
    np.testing.assert_allclose(np.asarray(decoder(mu)), np.asarray(original(mu)), atol=1e-6)


def test_latent_ddim_trains_and_samples_decoded_spectrograms(first_stage, tmp_path, capsys):
    from benchmarks import sampling
    from generate import sounds

    run_dir = tmp_path / "latent_ddim"
    pairs = [f"data_dir={first_stage / 'latents'}", f"run_dir={run_dir}", "epochs=1", "steps_per_epoch=2",
             "validation_batches=1", "sampling_steps=2", "patch_size=1", *TINY_MODELS["ddim"]]
    assert train_diffusion.main(set_args(pairs)) == 0
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["model"] == "latent_ddim" and summary["data_shape"] == [32, 32, 2]
    assert (run_dir / "latent_decoder.keras").is_file() and (run_dir / "latent.json").is_file()
    model = TrainedModel(run_dir)
    assert model.kind == "ddim" and model.latent_decoder is not None and model.data_shape == (128, 128)
    assert model.model.clip_range is None  # latents are unbounded
    samples = model.spectrograms(seeds=[0, 1], steps=2)
    assert samples.shape == (2, 128, 128) and 0 <= samples.min() and samples.max() <= 1
    np.testing.assert_allclose(model.spectrograms(seeds=[1], steps=2)[0], samples[1], atol=1e-5)
    out = tmp_path / "wavs"
    assert sounds.main(["--model", str(run_dir), "--num", "2", "--steps", "2", "--out", str(out)]) == 0
    assert len(list(out.glob("generated_*.wav"))) == 2
    capsys.readouterr()
    assert sampling.main(["--model", str(run_dir), "--num", "2", "--steps", "2", "--griffin-lim-iters", "2"]) == 0
    printed = capsys.readouterr().out
    assert "(latent DDIM)" in printed and f"{model.parameters:,} parameters" in printed
    assert model.parameters > model.model.network.count_params()  # the decoder counts


def test_a_deterministic_spatial_autoencoder_encodes_too(tiny_dataset, tmp_path):
    run = tmp_path / "ae"
    pairs = [f"data_dir={tiny_dataset}", f"run_dir={run}", "epochs=1", "steps_per_epoch=1", "validation_batches=0",
             *TINY_MODELS["autoencoder"], *SPATIAL]
    assert train_autoencoder.main(set_args(pairs)) == 0
    summary, skipped = encode_cli.encode_dataset(run, tmp_path / "latents", progress=False)
    assert summary["kind"] == "autoencoder" and summary["latent_shape"] == [32, 32, 2] and not skipped


def test_bad_first_stages_are_named(runs, tiny_dataset, tmp_path, capsys):
    # the fixture's autoencoder has a dense 8-d latent
    assert encode_cli.main(["--autoencoder", str(runs / "ae"), "--out", str(tmp_path / "x")]) == 2
    assert "bottleneck: spatial" in capsys.readouterr().err
    assert encode_cli.main(["--autoencoder", str(runs / "ddim"), "--out", str(tmp_path / "x")]) == 2
    assert "Not a trained autoencoder folder" in capsys.readouterr().err
    pairs = [f"data_dir={tiny_dataset}", f"run_dir={tmp_path / 'a'}", "bottleneck=conv"]
    assert train_autoencoder.main(set_args(pairs)) == 2
    assert "bottleneck='conv'" in capsys.readouterr().err


def test_a_clip_that_cannot_be_read_is_skipped_and_the_rest_encoded(first_stage, tiny_dataset, tmp_path):
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(tiny_dataset, copy)
    bad = SpectrogramData(copy).paths("train")[-1]
    np.save(bad, np.zeros((3, 3), "float32"))
    with pytest.raises(ParameterError, match="must differ"):
        encode_cli.encode_dataset(first_stage / "vae", copy, data_dir=copy, progress=False)
    summary, skipped = encode_cli.encode_dataset(first_stage / "vae", tmp_path / "out", data_dir=copy, progress=False)
    assert len(skipped) == 1 and "(3, 3)" in skipped[0]["reason"]
    assert summary["clips"] == len(SpectrogramData(copy).rows) - 1
    assert (tmp_path / "out" / "skipped.csv").is_file()
