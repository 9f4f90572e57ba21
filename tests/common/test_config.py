"""Config loading: YAML, overrides, unknown keys and wrong types."""

import dataclasses

import pytest

from common.config import FLAT_NAMES, load_config, load_saved_config, parse_overrides, save_config
from common.errors import ParameterError
from train.config import AutoencoderTrainConfig, DiffusionTrainConfig


def test_yaml_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("widths: [8, 16]\nbatch_size: 4\n")
    config = load_config(DiffusionTrainConfig, path, parse_overrides(["batch_size=2", "learning_rate=0.01"]))
    assert config.widths == (8, 16)
    assert config.batch_size == 2
    assert config.learning_rate == pytest.approx(0.01)


def test_numbers_in_exponent_notation_are_numbers(tmp_path):
    # PyYAML reads 3e-4 (no dot) as a string (YAML 1.1); in a file and in --set it is a learning rate
    path = tmp_path / "c.yaml"
    path.write_text("learning_rate: 3e-4\n")
    assert load_config(DiffusionTrainConfig, path).learning_rate == pytest.approx(3e-4)
    config = load_config(DiffusionTrainConfig, None, parse_overrides(["learning_rate=5E-3", "weight_decay=+2e-5"]))
    assert (config.learning_rate, config.weight_decay) == (pytest.approx(5e-3), pytest.approx(2e-5))
    for text in ("3e", "e-4", "fast", "1e-4x"):
        with pytest.raises(ParameterError, match="must be a number"):
            load_config(DiffusionTrainConfig, None, {"learning_rate": text})


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
        ({"weight_decay": -1e-4}, r"weight_decay must be >= 0.*Received: weight_decay=-0.0001"),
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


# === Sections ===


@dataclasses.dataclass(frozen=True)
class _Window:
    size: int = 4
    kind: str = dataclasses.field(default="hann", metadata={FLAT_NAMES: ("window_kind",)})


@dataclasses.dataclass(frozen=True)
class _Filter:
    size: int = 8


@dataclasses.dataclass(frozen=True)
class _Sectioned:
    rate: int = 1
    window: _Window = dataclasses.field(default_factory=_Window)
    filter: _Filter = dataclasses.field(default_factory=_Filter)


def test_sections_take_nested_dotted_and_flat_keys(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("rate: 2\nwindow:\n  kind: hamming\n")
    config = load_config(_Sectioned, path, parse_overrides(["filter.size=16"]))
    assert config == _Sectioned(rate=2, window=_Window(kind="hamming"), filter=_Filter(size=16))
    # a flat key sets the field in every section that has it, under its own name or a flat name
    assert load_config(_Sectioned, None, {"size": 3, "window_kind": "kaiser"}) == _Sectioned(
        window=_Window(size=3, kind="kaiser"), filter=_Filter(size=3))
    # a section's own value wins over a flat one in the same mapping; the overrides win over the file
    assert load_config(_Sectioned, None, {"window.size": 5, "size": 3}).window.size == 5
    assert load_config(_Sectioned, path, {"window.kind": "blackman"}).window.kind == "blackman"
    save_config(config, tmp_path / "saved.yaml")
    assert "window:\n  size: 4\n  kind: hamming\n" in (tmp_path / "saved.yaml").read_text()
    assert load_config(_Sectioned, tmp_path / "saved.yaml") == config


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"window.bogus": 1}, r"'window' section of _Sectioned: bogus\. Known keys: kind, size\. Received: window.bogus=1"),
        ({"window": {"bogus": 1}}, r"Received: window.bogus=1"),
        ({"window": 3}, r"Config key 'window' must be a mapping of its keys \(size, kind\)\. Received: window=3"),
        ({"shape.size": 1}, r"Unknown config key\(s\) for _Sectioned: shape.size\..*Received: shape.size=1"),
        ({"window.size": "big"}, r"must be an integer\. Received: window.size='big'"),
        ({"size": "big"}, r"must be an integer\. Received: size='big'"),
    ],
)
def test_bad_section_keys_are_named(overrides, message):
    with pytest.raises(ParameterError, match=message):
        load_config(_Sectioned, None, overrides)


def test_a_saved_config_of_older_code_loads(tmp_path):
    path = tmp_path / "old.yaml"
    # keys removed since (top level, in a section, dotted) are dropped; keys added since take defaults
    path.write_text("rate: 2\nshuffle_buffer: 512\nwindow:\n  kind: hamming\n  taper: 0.5\nfilter.order: 3\nsize: 6\n")
    assert load_saved_config(_Sectioned, path) == _Sectioned(rate=2, window=_Window(size=6, kind="hamming"),
                                                              filter=_Filter(size=6))
    with pytest.raises(ParameterError, match="Unknown config key"):
        load_config(_Sectioned, path)  # a config given by hand still refuses them
    path.write_text("rate: two\n")
    with pytest.raises(ParameterError, match="Received: rate='two'"):
        load_saved_config(_Sectioned, path)
    with pytest.raises(ParameterError, match="Config file not found"):
        load_saved_config(_Sectioned, tmp_path / "none.yaml")
