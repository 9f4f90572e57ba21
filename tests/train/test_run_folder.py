"""RunFolder: a run's file names in one place, its kind decided once, its config read into the dataclass."""

import ast
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from common.errors import ParameterError
from preprocessing.dataset_folder import DatasetFolder
from train.checkpoint import FILE_NAME, fingerprint
from train.config import AutoencoderTrainConfig, DiffusionTrainConfig
from train.run_folder import RunFolder

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "saved_models"
# Every file and folder name of a data set or run folder, and the modules allowed to spell one in code
# (docstrings and messages may name them): the two folder classes and the model formats they delegate to.
FOLDER_FILE_NAMES = {
    "manifest.csv", "normalisation.json", "transform.json", "config.yaml", "skipped.csv", "ignored.csv",
    "latent.json", "latent_decoder.keras", "spectrograms", "latents", "network.keras", "diffusion.json",
    "autoencoder.keras", "vae_encoder.keras", "vae_decoder.keras", "history.csv", "history.png", "summary.json",
    "checkpoints", "checkpoint.npz", "tensorboard",
}
OWNERS = {
    "preprocessing/dataset_folder.py", "preprocessing/latent_files.py", "train/run_folder.py", "models/sampler_folder.py",
    "models/first_stage.py",
    "train/checkpoint.py",  # checkpoints/checkpoint.npz: the file inside the folder RunFolder names
    # the chorales recipe's own output folder (its manifest.csv is another file, of pieces, not clips):
    "preprocessing/recipes/chorales/manifest.py", "preprocessing/sources.py",
}
NOT_A_FILE_NAME = {("train/callbacks.py", "tensorboard")}  # the package's name, for importlib


def test_no_other_module_spells_a_folder_file_name():
    spelled = []
    for package in ("common", "models", "preprocessing", "evaluation", "train", "generate", "benchmarks"):
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                          if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef)) and node.body
                          and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                    name = node.value.strip("/").split("/")[0]
                    if name in FOLDER_FILE_NAMES and (str(path.relative_to(ROOT)), node.value) not in NOT_A_FILE_NAME:
                        spelled.append((str(path.relative_to(ROOT)), node.value))
    assert {file for file, _ in spelled} <= OWNERS, [item for item in spelled if item[0] not in OWNERS]
    assert ("train/run_folder.py", "config.yaml") in spelled  # the check sees a real spelling


def test_every_file_is_named_by_the_class_inside_the_folder(tmp_path):
    run = RunFolder(tmp_path / "run")
    paths = [run.config_path, run.transform_path, run.normalisation_path, run.latent_info_path,
             run.latent_decoder_path, run.history_path, run.history_plot_path, run.summary_path, run.checkpoint_dir,
             run.tensorboard_dir]
    assert all(p.parent == tmp_path / "run" for p in paths) and len(set(paths)) == len(paths)
    # the files copied from the data set keep its names
    data = DatasetFolder(tmp_path)
    assert (run.transform_path.name, run.normalisation_path.name, run.latent_decoder_path.name) == (
        data.transform_path.name, data.normalisation_path.name, data.latent_decoder_path.name)


@pytest.mark.parametrize("files, kind", [
    (["diffusion.json", "network.keras"], "ddim"),
    (["diffusion.json", "autoencoder.keras"], "ddim"),
    (["autoencoder.keras"], "autoencoder"),
    (["vae_encoder.keras", "vae_decoder.keras"], "vae"),
    (["autoencoder.keras", "vae_decoder.keras"], "autoencoder"),
])
def test_the_kind_is_decided_from_the_model_files(tmp_path, files, kind):
    for name in files:
        (tmp_path / name).write_bytes(b"")
    assert RunFolder(tmp_path).kind == kind
    assert RunFolder(tmp_path).config_class is (DiffusionTrainConfig if kind == "ddim" else AutoencoderTrainConfig)


def test_a_folder_without_a_model_is_refused(tmp_path):
    with pytest.raises(ParameterError, match="Model folder not found"):
        RunFolder(tmp_path / "nowhere").kind
    (tmp_path / "config.yaml").write_text("seed: 1\n")
    with pytest.raises(ParameterError, match=f"holds neither.*Received: model_dir={str(tmp_path)!r}"):
        RunFolder(tmp_path).config


def test_prepare_writes_the_config_and_copies_the_data_sets_files(tiny_dataset, tmp_path):
    data = DatasetFolder(tiny_dataset).check()
    config = DiffusionTrainConfig(data_dir=str(tiny_dataset), run_dir=str(tmp_path / "run"), sampling_steps=3)
    assert RunFolder(tmp_path / "worker").prepare(config, data, chief=False).path.exists() is False
    run = RunFolder(config.run_dir).prepare(config, data)
    (run.path / "diffusion.json").write_text("{}")  # a DDIM run, for its config class
    assert RunFolder(run.path).config == config
    assert run.transform_path.read_bytes() == data.transform_path.read_bytes()
    assert run.normalisation_path.read_bytes() == data.normalisation_path.read_bytes()
    assert run.codec().sample_rate == data.codec.sample_rate
    assert run.latent_info is None and run.load_latent_decoder() is None
    assert run.spectrogram_data_dir() == str(tiny_dataset)
    assert run.write_summary({"steps": 3}) == run.summary_path and json.loads(run.summary_path.read_text()) == {"steps": 3}

    # a checkpoint of another config is refused before anything is written
    run.checkpoint_dir.mkdir()
    meta = {"step": 2, "fingerprint": fingerprint(config), "paths": []}
    np.savez(run.checkpoint_dir / FILE_NAME, meta=np.array(json.dumps(meta)))
    before = run.config_path.read_bytes()
    with pytest.raises(ParameterError, match="another config"):
        run.prepare(DiffusionTrainConfig(data_dir=str(tiny_dataset), run_dir=str(run.path), text_max_tokens=20), data)
    assert run.config_path.read_bytes() == before


def test_a_latent_data_set_passes_its_info_and_decoder_on(tiny_dataset, tmp_path):
    latent_set = tmp_path / "latent_set"
    shutil.copytree(tiny_dataset, latent_set)
    info = {"kind": "vae", "source_data_dir": "data/spectrograms"}
    data = DatasetFolder(latent_set)
    data.write_latent_info(info)
    data.latent_decoder_path.write_bytes(b"a decoder")
    config = DiffusionTrainConfig(data_dir=str(latent_set), run_dir=str(tmp_path / "run"))
    run = RunFolder(config.run_dir).prepare(config, data)
    assert run.latent_info == info and run.latent_decoder_path.read_bytes() == b"a decoder"
    assert run.spectrogram_data_dir() == "data/spectrograms"  # the data set its latents came from


@pytest.mark.parametrize("text, message", [
    ("seed: [unclosed\n", "not valid YAML"),
    ("sampling_steps: 0\n", "sampling_steps"),
    ("seed: one\n", "Received: seed='one'"),
])
def test_a_bad_config_is_named(tmp_path, text, message):
    (tmp_path / "diffusion.json").write_text("{}")
    (tmp_path / "config.yaml").write_text(text)
    with pytest.raises(ParameterError, match=message):
        RunFolder(tmp_path).config


def test_no_config_no_data_set(tmp_path):
    (tmp_path / "autoencoder.keras").write_bytes(b"")
    run = RunFolder(tmp_path)
    assert run.config is None and run.spectrogram_data_dir() == ""
    with pytest.raises(ParameterError, match="Transform file not found.*transform.json"):
        run.codec()


def test_models_written_and_loaded_by_kind(tmp_path):
    import keras

    from models.autoencoder import build_autoencoder
    from models.vae import build_vae_parts

    autoencoder, _, _ = build_autoencoder((16, 16, 1), (4,), (3,), (2,), 3)
    run = RunFolder(tmp_path / "ae")
    run.path.mkdir()
    run.write_autoencoder(autoencoder)
    x = np.random.default_rng(0).uniform(size=(2, 16, 16, 1)).astype("float32")
    assert run.kind == "autoencoder"
    np.testing.assert_allclose(run.load_model().predict(x, verbose=0), autoencoder.predict(x, verbose=0), atol=1e-6)

    encoder, decoder = build_vae_parts((16, 16, 1), (4,), (3,), (2,), latent_dim=3)
    vae = RunFolder(tmp_path / "vae")
    vae.path.mkdir()
    vae.write_vae(encoder, decoder)
    z = np.zeros((1, 3), "float32")
    assert vae.kind == "vae" and isinstance(vae.load_model(), keras.Model)
    np.testing.assert_allclose(vae.load_model().predict(z, verbose=0), decoder.predict(z, verbose=0), atol=1e-6)


@pytest.mark.parametrize("name, kind", [
    ("chorales_ddim", "ddim"), ("chorales_ddim_quick", "ddim"), ("chorales_ddim_instrument", "ddim"), ("chorales_ddim_instrument_text", "ddim"),
    ("chorales_latent_ddim", "ddim"), ("chorales_autoencoder", "autoencoder"), ("chorales_latent_autoencoder", "vae"),
])
def test_the_shipped_runs_read(name, kind):
    run = RunFolder(SHIPPED / name)
    if not run.path.is_dir():
        pytest.skip("the shipped run is not here")
    assert run.kind == kind and isinstance(run.config, run.config_class)
    assert run.spectrogram_data_dir() == "data/chorales_stft" or "instrument" in name


@pytest.mark.skipif(not (SHIPPED / "chorales_ddim_quick").is_dir(), reason="the shipped quick DDIM is not here")
def test_a_config_written_before_keys_were_added_or_removed_loads_and_samples_the_same(tmp_path):
    from generate.trained_model import TrainedModel

    old = tmp_path / "old_ddim"
    shutil.copytree(SHIPPED / "chorales_ddim_quick", old)
    values = yaml.safe_load((old / "config.yaml").read_text())
    added = ["sampler", "guidance_rescale", "guidance_interval", "block_type", "conditioning", "text_max_tokens", "label_dropout",
             "guidance_scale", "init_from", "checkpoint_every", "worker_timeout_s", "cache_clips",
             "learning_rate_schedule", "warmup_steps", "tensorboard", "strategy"]
    for key in added:
        values.pop(key, None)
    values["shuffle_buffer"] = 512  # a key removed since
    (old / "config.yaml").write_text(yaml.safe_dump(values))
    assert "block_type" not in (old / "config.yaml").read_text()
    assert RunFolder(old).config == RunFolder(SHIPPED / "chorales_ddim_quick").config

    old_model, shipped = TrainedModel(old), TrainedModel(SHIPPED / "chorales_ddim_quick")
    assert (old_model.default_steps(), old_model.default_sampler()) == (10, "ddim")
    np.testing.assert_array_equal(old_model.spectrograms(seeds=[3], steps=2), shipped.spectrograms(seeds=[3], steps=2))
