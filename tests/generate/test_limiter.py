"""The gain-only loudness limiter: loud clips come down to the ceilings, quiet clips are untouched."""

import json
import shutil

import numpy as np
import pytest

from common.errors import ParameterError
from generate.limiter import FALLBACK_RMS_CEILING_DBFS, LoudnessLimiter
from preprocessing.loudness import LEVELS_KEY, peak_dbfs, rms_dbfs


def full_scale_noise(seed=0, n=16000):
    noise = np.random.default_rng(seed).uniform(-1.0, 1.0, n).astype("float32")
    return noise / np.abs(noise).max()


def test_full_scale_noise_comes_down_to_the_rms_ceiling():
    limiter = LoudnessLimiter(-19.0)
    noise = full_scale_noise()
    assert rms_dbfs(noise) > -5.0 and peak_dbfs(noise) == 0.0
    limited, limit = limiter.apply(noise)
    assert rms_dbfs(limited) <= -19.0 and rms_dbfs(limited) == pytest.approx(-19.0, abs=1e-3)
    assert peak_dbfs(limited) <= -1.0
    assert limit.limited_by == "rms" and limit.gain_db == pytest.approx(-19.0 - rms_dbfs(noise), abs=1e-3)
    np.testing.assert_allclose(limited, noise * 10 ** (limit.gain_db / 20), rtol=1e-6)  # a gain, no distortion
    assert (limit.rms_dbfs_out, limit.peak_dbfs_out) == (rms_dbfs(limited), peak_dbfs(limited))


def test_a_peaky_clip_is_limited_by_its_peak_after_its_rms():
    clip = np.zeros(16000, "float32")
    clip[::100] = 0.5  # RMS -26 dBFS, peak -6 dBFS
    limited, limit = LoudnessLimiter(-30.0, peak_ceiling_dbfs=-12.0).apply(clip)
    assert limit.limited_by == "rms+peak"
    assert peak_dbfs(limited) <= -12.0 and rms_dbfs(limited) < -30.0
    only_peak, limit = LoudnessLimiter(-20.0, peak_ceiling_dbfs=-12.0).apply(clip)
    assert limit.limited_by == "peak" and peak_dbfs(only_peak) <= -12.0
    assert limit.gain_db == pytest.approx(-12.0 - peak_dbfs(clip), abs=1e-3)


def test_quiet_clips_are_untouched_and_never_raised():
    quiet = 0.01 * full_scale_noise(1)
    limited, limit = LoudnessLimiter(-19.0).apply(quiet)
    assert limit.gain_db == 0.0 and limit.limited_by is None
    np.testing.assert_array_equal(limited, quiet)
    silent, limit = LoudnessLimiter(-19.0).apply(np.zeros(100, "float32"))
    assert limit.gain_db == 0.0 and not silent.any()
    assert limit.as_dict()["rms_dbfs_in"] == -200.0


@pytest.mark.parametrize("kwargs", [{"rms_ceiling_dbfs": 3.0}, {"rms_ceiling_dbfs": float("nan")},
                                    {"rms_ceiling_dbfs": -20.0, "peak_ceiling_dbfs": 1.0},
                                    {"rms_ceiling_dbfs": -20.0, "reference": "guess"}])
def test_bad_settings(kwargs):
    with pytest.raises(ParameterError, match="Received"):
        LoudnessLimiter(**kwargs)


def test_reference_comes_from_the_model_then_the_data_set_then_a_fixed_level(tiny_dataset, tmp_path):
    p95 = json.loads((tiny_dataset / "normalisation.json").read_text())[LEVELS_KEY]["p95"]
    model = tmp_path / "model"
    model.mkdir()
    shutil.copy(tiny_dataset / "normalisation.json", model / "normalisation.json")
    limiter = LoudnessLimiter.for_model(model)
    assert (limiter.reference, limiter.rms_ceiling_dbfs) == ("model", p95)

    statistics = json.loads((model / "normalisation.json").read_text())
    del statistics[LEVELS_KEY]  # a model saved before the summary existed
    (model / "normalisation.json").write_text(json.dumps(statistics))
    limiter = LoudnessLimiter.for_model(model, tiny_dataset)
    assert (limiter.reference, limiter.rms_ceiling_dbfs) == ("data set", p95)
    assert LoudnessLimiter.for_model(model).reference == "fixed"
    assert LoudnessLimiter.for_model(model, tmp_path / "nowhere").reference == "fixed"

    statistics["max_value"] += 1.0  # trained on other data: the data set's summary is not its
    (model / "normalisation.json").write_text(json.dumps(statistics))
    limiter = LoudnessLimiter.for_model(model, tiny_dataset)
    assert (limiter.reference, limiter.rms_ceiling_dbfs) == ("fixed", FALLBACK_RMS_CEILING_DBFS)
