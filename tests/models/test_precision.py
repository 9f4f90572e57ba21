"""bfloat16 sampling copies (`models.precision`): what they compute, and when ``auto`` picks them."""

import keras
import numpy as np
import pytest

from common.errors import ParameterError
from models import precision
from models.layers import SinusoidalEmbedding
from models.unet import build_unet


def unet(**kwargs):
    keras.utils.set_random_seed(0)
    return build_unet((16, 16, 1), widths=(8, 16), block_depth=1, attention_levels=(1,), frequency_mixing_levels=(0, 1),
                      frequency_attention_levels=(0,), patch_size=2, embedding_dims=8, num_heads=2,
                      block_type="film", **kwargs)


def perturb(network, scale=0.2):
    """Non-zero weights everywhere (zero-initialised projections would hide a layer's precision)."""
    rng = np.random.default_rng(1)
    network.set_weights([w + scale * rng.standard_normal(w.shape).astype(w.dtype) for w in network.get_weights()])
    return network


@pytest.mark.parametrize("kwargs, extra", [({}, []), ({"num_classes": 2}, [np.array([0, 1, 2, 1], "int32")])])
def test_the_bfloat16_copy_computes_the_same_function_in_bfloat16_and_returns_float32(kwargs, extra):
    network = perturb(unet(**kwargs))
    copy = precision.bfloat16_copy(network)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 16, 16, 1)).astype("float32")
    noise_variances = np.array([0.01, 0.2, 0.6, 0.99], "float32").reshape(4, 1, 1, 1)
    expected = np.asarray(network([x, noise_variances, *extra]))
    got = copy([x, noise_variances, *extra])
    assert got.dtype == "float32"
    got = np.asarray(got)
    error = np.abs(got - expected).mean() / np.abs(expected).mean()
    assert 0 < error < 0.03  # not bit-identical (it is bfloat16 inside), but the same function
    for a, b in zip(network.get_weights(), copy.get_weights()):  # float32 weights, copied
        assert b.dtype == np.float32 and np.array_equal(a, b)
    assert not copy.trainable


def test_the_copy_keeps_the_noise_embedding_in_float32_and_the_rest_in_bfloat16():
    copy = precision.bfloat16_copy(unet())
    inner = [layer for layer in copy.layers if isinstance(layer, keras.Model)][0]
    policies = {type(layer): layer.dtype_policy.name for layer in inner.layers}
    assert policies[SinusoidalEmbedding] == "float32"
    assert policies[keras.layers.Conv2D] == "mixed_bfloat16"
    # sin(2 pi * 1000 * x) in bfloat16 would lose the noise level: nearby levels must embed apart
    embedding = [layer for layer in inner.layers if isinstance(layer, SinusoidalEmbedding)][0]
    a, b = (np.asarray(embedding(np.full((1, 1, 1, 1), v, "float32"))) for v in (0.5, 0.5004))
    assert np.abs(a - b).max() > 0.5


@pytest.mark.parametrize("flags, native", [("fpu sse avx512f avx512_bf16", True), ("fpu amx_tile amx_bf16", True),
                                           ("fpu sse avx2 avx512f", False)])
def test_native_bfloat16_reads_the_cpu_flags(tmp_path, flags, native):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nmodel name\t: x\nflags\t\t: {flags}\n\nprocessor\t: 1\nflags\t\t: {flags}\n")
    assert precision.native_bfloat16(cpuinfo) is native
    assert precision.native_bfloat16(tmp_path / "missing") is False


def test_auto_resolves_by_the_cpu_and_a_bad_precision_is_named(monkeypatch):
    assert precision.resolve_precision("float32") == "float32"
    assert precision.resolve_precision("bfloat16") == "bfloat16"
    for native, expected in ((True, "bfloat16"), (False, "float32")):
        monkeypatch.setattr(precision, "native_bfloat16", lambda native=native: native)
        assert precision.resolve_precision("auto") == expected
    with pytest.raises(ParameterError, match="precision=.float16."):
        precision.resolve_precision("float16")


def test_a_trained_model_samples_in_the_precision_asked_else_the_runs(runs, tmp_path):
    import shutil

    import yaml

    from generate import sounds
    from generate.trained_model import TrainedModel

    assert TrainedModel(runs / "ddim").precision == "float32"  # a run without the key
    model = tmp_path / "model"
    shutil.copytree(runs / "ddim", model)
    config = yaml.safe_load((model / "config.yaml").read_text())
    (model / "config.yaml").write_text(yaml.safe_dump({**config, "sampling_precision": "bfloat16"}))
    trained = TrainedModel(model)
    assert trained.precision == "bfloat16" and trained.model.ema_network.name.endswith("_bfloat16")
    assert TrainedModel(model, precision="float32").precision == "float32"
    out = tmp_path / "out"
    assert sounds.main(["--model", str(model), "--num", "1", "--steps", "2", "--out", str(out)]) == 0
    report = yaml.safe_load((out / "report.json").read_text())
    assert report["precision"] == "bfloat16"
    with pytest.raises(ParameterError, match="precision=.half."):
        TrainedModel(model, precision="half")
