"""Config loading: YAML, overrides, unknown keys and wrong types."""

import pytest

from common.config import load_config, parse_overrides, save_config
from common.errors import ParameterError
from train.config import AutoencoderTrainConfig, DiffusionTrainConfig


def test_yaml_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("widths: [8, 16]\nbatch_size: 4\n")
    config = load_config(DiffusionTrainConfig, path, parse_overrides(["batch_size=2", "learning_rate=0.01"]))
    assert config.widths == (8, 16)
    assert config.batch_size == 2
    assert config.learning_rate == pytest.approx(0.01)


def test_saved_config_round_trips(tmp_path):
    config = load_config(AutoencoderTrainConfig, None, {"latent_dim": 7, "max_train_minutes": 1.5})
    save_config(config, tmp_path / "config.yaml")
    assert load_config(AutoencoderTrainConfig, tmp_path / "config.yaml") == config


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"bacth_size": 3}, "bacth_size"),
        ({"batch_size": "big"}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"widths": 3}, "widths"),
        ({"batch_size": 0}, "batch_size"),
        ({"strategy": "tpu-pod"}, "strategy"),
        ({"loss_type": "huber"}, "loss_type"),
    ],
)
def test_bad_keys_and_types_are_named(overrides, message):
    with pytest.raises(ParameterError, match=message):
        load_config(DiffusionTrainConfig, None, overrides)


def test_missing_file_and_bad_override(tmp_path):
    with pytest.raises(ParameterError, match="nope.yaml"):
        load_config(DiffusionTrainConfig, tmp_path / "nope.yaml")
    with pytest.raises(ParameterError, match="epochs"):
        parse_overrides(["epochs"])
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ParameterError, match="mapping"):
        load_config(DiffusionTrainConfig, tmp_path / "list.yaml")


def test_diffusion_presets_set_the_unet_size_and_refuse_a_conflict():
    from train.config import PRESETS, DiffusionTrainConfig

    for name, values in PRESETS.items():
        config = load_config(DiffusionTrainConfig, "configs/chorales_ddim.yaml", {"preset": name})
        assert all(getattr(config, key) == value for key, value in values.items())
    assert load_config(DiffusionTrainConfig, None, {"preset": "small"}) == load_config(
        DiffusionTrainConfig, None, {"preset": "small", "widths": [32, 64, 96, 128]}
    )
    with pytest.raises(ParameterError, match=r"preset 'tiny' sets widths.*Received: widths=\(8, 16\)"):
        load_config(DiffusionTrainConfig, None, {"preset": "tiny", "widths": [8, 16]})
    with pytest.raises(ParameterError, match="preset='huge'"):
        load_config(DiffusionTrainConfig, None, {"preset": "huge"})
