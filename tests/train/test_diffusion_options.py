"""CPU smoke tests of ``python -m train.diffusion`` with each schedule and prediction target (issue 4).

Each run trains a tiny DDIM for two steps on the tiny dataset, reloads the saved
sampler and samples from it. Every schedule is run with ``eps``, every target
with the ``linear`` schedule (plus Min-SNR and the auxiliary losses on the way),
which covers each switch at a third of the cost of the full product.
"""

import json

import numpy as np
import pytest

from common.config import load_config
from common.errors import ParameterError
from models.sampler_folder import load_sampler
from conftest import TINY_MODELS, set_args
from train import diffusion as train_diffusion
from train.config import DiffusionTrainConfig

COMBINATIONS = [
    ("offset_cosine", "eps", []),
    ("linear", "eps", []),
    ("cosine", "eps", []),
    ("linear", "v", ["min_snr_gamma=5", "spectral_norm_weight=0.001"]),
    ("linear", "x0", ["min_snr_gamma=5", "time_derivative_weight=1.0"]),
    ("offset_cosine", "v", ["schedule_shift=3"]),
]


@pytest.mark.parametrize("schedule, prediction, extra", COMBINATIONS)
def test_train_reload_and_sample(tiny_dataset, tmp_path, schedule, prediction, extra):
    run = tmp_path / "ddim"
    pairs = [f"data_dir={tiny_dataset}", f"run_dir={run}", "epochs=1", "steps_per_epoch=2", "validation_batches=0",
             "sampling_steps=2", f"schedule={schedule}", f"prediction={prediction}"] + TINY_MODELS["ddim"] + extra
    assert train_diffusion.main(set_args(pairs)) == 0
    settings = json.loads((run / "diffusion.json").read_text())
    assert settings["prediction"] == prediction
    model = load_sampler(run)
    shifted = "schedule_shift=3" in extra
    assert model.prediction == prediction and (model.schedule.name == "shifted") == shifted
    assert (model.schedule.schedule if shifted else model.schedule).name == schedule
    samples = model.generate(seeds=[0, 1], diffusion_steps=2, eta=0.5)
    assert samples.shape == (2, 128, 128, 1) and np.isfinite(samples).all()
    assert samples.min() >= 0.0 and samples.max() <= 1.0


@pytest.mark.parametrize("key, value", [("schedule", "quadratic"), ("prediction", "score"), ("min_snr_gamma", -5.0),
                                        ("spectral_norm_weight", -1.0), ("time_derivative_weight", -0.5),
                                        ("schedule_shift", 0.0), ("sampling_critic", "judge"),
                                        ("sampling_candidates", 0)])
def test_bad_diffusion_options(key, value):
    with pytest.raises(ParameterError, match=key):
        load_config(DiffusionTrainConfig, None, {key: value})


def test_defaults_are_the_shipped_model():
    config = DiffusionTrainConfig()
    assert (config.schedule, config.prediction, config.min_snr_gamma) == ("offset_cosine", "eps", None)
    assert config.spectral_norm_weight == config.time_derivative_weight == 0.0


def test_self_conditioning_fine_tunes_from_a_run_without_it(tiny_dataset, tmp_path, capsys):
    base, run = tmp_path / "base", tmp_path / "self_conditioned"
    common = [f"data_dir={tiny_dataset}", "epochs=1", "steps_per_epoch=2", "validation_batches=1", "sampling_steps=2",
              "block_type=film"] + TINY_MODELS["ddim"]
    assert train_diffusion.main(set_args(common + [f"run_dir={base}"])) == 0
    assert train_diffusion.main(set_args(common + [f"run_dir={run}", f"init_from={base}", "self_conditioning=true"])) == 0
    assert "Initialised" in capsys.readouterr().out
    before, after = load_sampler(base), load_sampler(run)  # the saved network keeps its previous_images input
    assert after.self_conditioning and not before.self_conditioning
    assert [i.name for i in after.network.inputs][-1] == "previous_images"
    samples = after.generate(seeds=[0, 1], diffusion_steps=3)
    assert samples.shape[0] == 2 and np.isfinite(samples).all()


def test_dropout_fine_tunes_from_a_run_without_it_and_samples_deterministically(tiny_dataset, tmp_path):
    base, run = tmp_path / "base", tmp_path / "dropout"
    common = [f"data_dir={tiny_dataset}", "epochs=1", "steps_per_epoch=2", "validation_batches=1", "sampling_steps=2",
              "block_type=film"] + TINY_MODELS["ddim"]
    assert train_diffusion.main(set_args(common + [f"run_dir={base}"])) == 0
    assert train_diffusion.main(set_args(common + [f"run_dir={run}", f"init_from={base}", "dropout=0.1"])) == 0
    assert load_config(DiffusionTrainConfig, run / "config.yaml", {}).dropout == 0.1
    model = load_sampler(run)  # the saved network keeps its dropout layers, which sampling leaves off
    assert any(layer.name.endswith("_dropout") for layer in model.network.layers)
    first, second = (model.generate(seeds=[0, 1], diffusion_steps=2) for _ in range(2))
    np.testing.assert_array_equal(first, second)


def test_a_deeper_network_starts_as_the_one_it_is_initialised_from(tiny_dataset, tmp_path, capsys):
    """block_depth 1 -> 2 by init_from: the new blocks, their frequency attention and self-attention pass
    their input on, so the deeper network computes what the trained one does (Net2DeeperNet)."""
    import dataclasses

    base = tmp_path / "base"
    pairs = [f"data_dir={tiny_dataset}", f"run_dir={base}", "epochs=1", "steps_per_epoch=3", "validation_batches=0",
             "sampling_steps=2", "block_type=film", "learning_rate=0.01", "warmup_steps=0"] + TINY_MODELS["ddim"]
    pairs += ["attention_levels=[1]", "frequency_attention_levels=[0]", "num_heads=2"]
    assert train_diffusion.main(set_args(pairs)) == 0
    source = load_sampler(base)
    config = dataclasses.replace(load_config(DiffusionTrainConfig, base / "config.yaml", {}), block_depth=2)
    deeper = train_diffusion.build_model(config, source.data_shape, source.data_mean, source.data_std)
    rng = np.random.default_rng(0)
    inputs = [rng.standard_normal((2, *source.data_shape)).astype("float32"),
              np.array([0.3, 0.9], "float32").reshape(2, 1, 1, 1)]
    expected = np.asarray(source.network(inputs))
    assert not np.allclose(np.asarray(deeper.network(inputs)), expected, atol=1e-3)  # as built, it differs
    capsys.readouterr()
    train_diffusion.initialise_from(deeper, base)
    assert "new layers set to pass their input on" in capsys.readouterr().out
    for network in (deeper.network, deeper.ema_network):
        np.testing.assert_allclose(np.asarray(network(inputs)), expected, atol=1e-4)
    assert len(deeper.network.layers) > len(source.network.layers)
