"""DatasetFolder: a data set's file names in one place, its reads and writes, and errors that name the file."""

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from common.errors import ParameterError
from preprocessing.config import PreprocessConfig
from preprocessing.dataset_folder import DatasetFolder
from preprocessing.log_spectrogram import LogSpectrogramExtractor
from preprocessing.manifest import MANIFEST_COLUMNS
from preprocessing.normaliser import MinMaxNormaliser

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "data" / "chorales_stft"


def row(clip_id, split, path, label=""):
    values = dict.fromkeys(MANIFEST_COLUMNS, "")
    values.update(clip_id=clip_id, split=split, path=path, source_path=f"/audio/{clip_id}.wav", piece=clip_id,
                  offset_s=0.0, duration_s=1.0, min_db=-80.0, max_db=10.0, rms_dbfs=-20.0, label=label)
    return values


def test_every_file_is_named_by_the_class_inside_the_folder(tmp_path):
    folder = DatasetFolder(tmp_path / "set")
    paths = [folder.manifest_path, folder.normalisation_path, folder.transform_path, folder.config_path,
             folder.latent_info_path, folder.latent_decoder_path]
    assert [p.name for p in paths] == [DatasetFolder.MANIFEST_FILE, DatasetFolder.NORMALISATION_FILE,
                                       DatasetFolder.TRANSFORM_FILE, DatasetFolder.CONFIG_FILE,
                                       DatasetFolder.LATENT_INFO_FILE, DatasetFolder.LATENT_DECODER_FILE]
    assert all(p.parent == tmp_path / "set" for p in paths) and len(set(paths)) == len(paths)
    assert folder.clip_relative("test", "a__0001") == "spectrograms/test/a__0001.npy"
    assert folder.clip_relative("train", "a", latent=True) == "latents/train/a.npy"
    with pytest.raises(ParameterError, match="Received: split='dev'"):
        folder.clip_relative("dev", "a")
    with pytest.raises(ParameterError, match=re.escape("Received: clip_id='../up'")):
        folder.clip_relative("train", "../up")


def test_a_written_data_set_reads_back(tmp_path):
    folder = DatasetFolder(tmp_path)
    rng = np.random.default_rng(0)
    clips = {("train", "a"): rng.uniform(-80, 10, (6, 4)), ("train", "b"): rng.uniform(-80, 10, (6, 4)),
             ("test", "c"): rng.uniform(-80, 10, (6, 4))}
    rows = [row(clip_id, split, folder.write_clip(split, clip_id, values), label="x" if clip_id == "b" else "")
            for (split, clip_id), values in clips.items()]
    folder.write_manifest(rows)
    transform = LogSpectrogramExtractor(8000, n_fft=256, hop_length=64)
    folder.write_transform(transform)
    folder.write_normaliser(MinMaxNormaliser(-80.0, 10.0), clip_levels=[-20.0, "", None, -18.0])
    config = PreprocessConfig(input_dir="in", output_dir=str(tmp_path))
    folder.write_config(config)
    folder.write_skipped([{"source_path": "bad.wav", "reason": "silent"}])

    again = DatasetFolder(tmp_path).check()
    assert [r["clip_id"] for r in again.rows] == ["a", "b", "c"] and again.rows[0]["offset_s"] == 0.0
    assert [r["clip_id"] for r in again.split_rows("train")] == ["a", "b"]
    assert again.paths("test") == [str(tmp_path / "spectrograms" / "test" / "c.npy")]
    np.testing.assert_array_equal(again.read_clip(again.paths("test")[0]), clips[("test", "c")].astype("float32"))
    np.testing.assert_allclose(again.load_clip(again.paths("train")[0])[..., 0], (clips[("train", "a")] + 80) / 90,
                               atol=1e-6)
    assert again.spectrogram_shape == (6, 4) and again.clip_shape() == (6, 4, 1) and again.clip_shape(2) == (6, 2, 1)
    assert again.load_split("train").shape == (2, 6, 4, 1) and again.load_clips("train", [1]).shape == (1, 6, 4, 1)
    assert again.class_names() == ["x"] and list(again.label_indices("train", ["x"])) == [1, 0]
    assert again.transform.get_config() == transform.get_config()
    assert (again.normaliser.min_value, again.normaliser.max_value) == (-80.0, 10.0)
    assert again.codec.sample_rate == 8000 and again.latent_info is None and again.load_latent_decoder() is None
    assert again.read_config() == config
    assert (tmp_path / DatasetFolder.SKIPPED_FILE).read_text() == "source_path,reason\nbad.wav,silent\n"

    copy = DatasetFolder(tmp_path / "copy")
    copy.copy_codec_from(again)
    assert copy.transform_path.read_bytes() == again.transform_path.read_bytes()
    assert copy.normalisation_path.read_bytes() == again.normalisation_path.read_bytes()


def test_a_latent_data_set_reads_its_clips_as_stored(tmp_path):
    folder = DatasetFolder(tmp_path)
    latent = np.random.default_rng(1).normal(size=(3, 2, 4)).astype("float32")
    path = folder.write_clip("train", "a", latent, latent=True)
    assert path == "latents/train/a.npy"
    with pytest.raises(ParameterError, match="3-D"):
        folder.write_clip("train", "b", latent[0], latent=True)
    folder.write_manifest([row("a", "train", path)])
    folder.write_latent_info({"kind": "vae", "latent_shape": [3, 2, 4]})
    assert folder.latent_info == {"kind": "vae", "latent_shape": [3, 2, 4]}
    assert folder.clip_shape() == (3, 2, 4)
    np.testing.assert_array_equal(folder.load_clip(folder.paths("train")[0]), latent)


def garble_first_offset(folder):
    """Make the first manifest row's offset_s not a number."""
    lines = (folder / "manifest.csv").read_text().splitlines(keepends=True)
    fields = lines[1].split(",")
    fields[MANIFEST_COLUMNS.index("offset_s")] = "soon"
    (folder / "manifest.csv").write_text("".join([lines[0], ",".join(fields), *lines[2:]]))


@pytest.mark.parametrize("break_it, message", [
    (lambda d: (d / "manifest.csv").unlink(), "Manifest not found"),
    (garble_first_offset, "Manifest is corrupt"),
    (lambda d: (d / "transform.json").unlink(), "Transform file not found"),
    (lambda d: (d / "normalisation.json").write_text("{not json"), "Normalisation file is not valid JSON"),
    (lambda d: (d / "latent.json").write_text("[1, 2]"), "latent.json must hold a mapping"),
])
def test_a_missing_or_corrupt_file_is_named(tiny_dataset, tmp_path, break_it, message):
    copy = tmp_path / "data"
    shutil.copytree(tiny_dataset, copy)
    break_it(copy)
    with pytest.raises(ParameterError, match=message) as info:
        DatasetFolder(copy).check()
    assert str(copy) in str(info.value)


def test_a_missing_or_corrupt_clip_is_named(tiny_dataset, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(tiny_dataset, copy)
    folder = DatasetFolder(copy).check()
    first, second = folder.paths("train")[:2]
    Path(first).write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(ParameterError, match=f"unreadable or corrupt.*Received: path={re.escape(repr(first))}"):
        folder.load_clip(first)
    Path(second).unlink()
    with pytest.raises(ParameterError, match=f"Clip file not found. Received: path={re.escape(repr(second))}"):
        folder.load_clip(second)
    with pytest.raises(ParameterError, match="Data folder not found"):
        DatasetFolder(tmp_path / "nowhere").check()


def test_an_empty_training_split_is_refused(tmp_path):
    folder = DatasetFolder(tmp_path)
    folder.write_manifest([row("c", "test", folder.write_clip("test", "c", np.zeros((2, 2))))])
    folder.write_transform(LogSpectrogramExtractor(8000, n_fft=256, hop_length=64))
    folder.write_normaliser(MinMaxNormaliser(-80.0, 10.0))
    with pytest.raises(ParameterError, match="training split holds no clips"):
        folder.check()


def test_an_old_config_with_a_removed_key_reads(tiny_dataset, tmp_path):
    copy = tmp_path / "data"
    shutil.copytree(tiny_dataset, copy)
    expected = DatasetFolder(copy).read_config()
    text = (copy / "config.yaml").read_text()
    (copy / "config.yaml").write_text(text + "an_old_key: 3\n")  # a key removed since the data set was made
    assert DatasetFolder(copy).read_config() == expected


@pytest.mark.skipif(not (SHIPPED / "manifest.csv").is_file(), reason="the shipped data set is not here")
def test_the_data_set_built_before_still_reads():
    folder = DatasetFolder(SHIPPED).check()
    assert folder.clip_shape() == (512, 192, 1)
    clip = folder.load_clip(folder.paths("test")[0])
    assert clip.dtype == np.float32 and 0.0 <= clip.min() <= clip.max() <= 1.0
    assert folder.read_config().output_dir == "data/chorales_stft"
