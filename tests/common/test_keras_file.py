"""Tests for common.keras_file: a missing .keras file is "not found", a broken one "unreadable or corrupt"."""

import re
import zipfile

import keras
import numpy as np
import pytest

from common.errors import ParameterError
from common.keras_file import load_keras_model
from generate.trained_model import TrainedModel
from models.first_stage import load_first_stage
from models.sampler_folder import load_sampler
from train.run_folder import RunFolder


def saved_model(path):
    inputs = keras.Input((3,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="dense")(inputs))
    model.save(path)
    return model


def test_loads_a_good_file(tmp_path):
    model = saved_model(tmp_path / "m.keras")
    reloaded = load_keras_model(tmp_path / "m.keras")
    x = np.arange(6, dtype="float32").reshape(2, 3)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_missing_file_is_not_found(tmp_path):
    path = tmp_path / "absent.keras"
    with pytest.raises(ParameterError, match=re.escape(f"Network file not found. Received: path={str(path)!r}")):
        load_keras_model(path, "Network file")


def test_truncated_file_is_corrupt_not_missing(tmp_path):
    path = tmp_path / "m.keras"
    saved_model(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ParameterError) as info:
        load_keras_model(path)
    message = str(info.value)
    assert "unreadable or corrupt" in message and "not found" not in message
    assert message.endswith(f"Received: path={str(path)!r}")


def test_damaged_member_is_corrupt_with_a_short_reason(tmp_path):
    path = tmp_path / "m.keras"
    saved_model(path)
    with zipfile.ZipFile(path) as archive:  # still a zip (its directory is intact), but a member is damaged
        info = archive.getinfo("model.weights.h5")
    data = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 64
    data[start : start + 256] = bytes(256)
    path.write_bytes(bytes(data))
    assert zipfile.is_zipfile(path)
    with pytest.raises(ParameterError, match=r"unreadable or corrupt \((.{1,160})\)\. Received: path=.*m\.keras"):
        load_keras_model(path)


def junk(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"PK\x03\x04 not really a zip " * 8)
    return path


@pytest.mark.parametrize(
    "file, load",
    [
        ("network.keras", load_sampler),
        ("latent_decoder.keras", lambda folder: RunFolder(folder).load_latent_decoder()),
        ("autoencoder.keras", load_first_stage),
        ("autoencoder.keras", TrainedModel),
    ],
)
def test_every_model_loader_reports_a_corrupt_file(tmp_path, file, load):
    path = junk(tmp_path / "run" / file)
    with pytest.raises(ParameterError, match=f"unreadable or corrupt.*Received: path={re.escape(repr(str(path)))}"):
        load(tmp_path / "run")
