"""Class-conditional DDIM with classifier-free guidance (issue 4): network, label dropout, sampling, CLIs."""

import json

import numpy as np
import pytest
import tensorflow as tf
import yaml

from common.errors import ParameterError
from conftest import set_args, tiny_preprocess_config, write_tones
from generate import label_effect, sounds
from models.diffusion import DiffusionModel
from models.sampler_folder import load_sampler
from models.training_draws import conditional_draws
from models.unet import build_unet
from preprocessing.pipeline import PreprocessingPipeline
from train import diffusion as train_diffusion
from train.config import DiffusionTrainConfig

TINY = ["widths=[8,16]", "block_depth=1", "attention_levels=[]", "embedding_dims=8", "batch_size=4",
        "steps_per_epoch=3", "validation_batches=0", "sampling_steps=2"]


@pytest.fixture(scope="module")
def two_class_dataset(tmp_path_factory):
    """A tiny data set whose clips are labelled by folder: ``high`` and ``low``."""
    root = tmp_path_factory.mktemp("two_class")
    write_tones(root / "audio" / "low", count=4)
    write_tones(root / "audio" / "high", count=4)
    out = root / "stft"
    PreprocessingPipeline(tiny_preprocess_config(root / "audio", out, validation_fraction=0.0, test_fraction=0.2)).run()
    return out


def test_class_input_starts_as_the_unconditional_network():
    network = build_unet((32, 32, 1), widths=(8, 16), block_depth=1, attention_levels=(), embedding_dims=8,
                         num_classes=2)
    assert [i.name for i in network.inputs] == ["noisy_images", "noise_variances", "class_labels"]
    x = np.random.default_rng(0).standard_normal((2, 32, 32, 1)).astype("float32")
    v = np.full((2, 1, 1, 1), 0.5, "float32")
    # zero-initialised class embedding: every label gives the same output before training
    out = [network([x, v, np.full((2, 1), c, "int32")]).numpy() for c in (0, 1, 2)]
    assert np.array_equal(out[0], out[1]) and np.array_equal(out[0], out[2])
    with pytest.raises(ValueError, match="num_classes"):
        build_unet((32, 32, 1), widths=(8, 16), attention_levels=(), num_classes=0)


def test_label_dropout_rate_and_kept_labels():
    draw = conditional_draws(0.25, null_label=3)
    image = tf.zeros((8, 8, 1))
    labels = [int(draw(image, tf.constant([[i, 1], [i, 2]], tf.int64), 1)[3]) for i in range(400)]
    assert set(labels) == {1, 3}
    assert 0.18 < labels.count(3) / 400 < 0.32
    assert all(int(draw(image, tf.constant([[i, 1], [i, 2]], tf.int64), 1)[3]) == labels[i] for i in range(20))


def test_label_checks():
    network = build_unet((32, 32, 1), widths=(8, 16), block_depth=1, attention_levels=(), embedding_dims=8,
                         num_classes=2)
    model = DiffusionModel(network, class_names=["major", "minor"])
    assert model.label_indices("minor", 3).tolist() == [1, 1, 1]
    assert model.label_indices(["major", 1], 2).tolist() == [0, 1]
    with pytest.raises(ParameterError, match=r"classes are \['major', 'minor'\].*dorian"):
        model.label_indices("dorian", 1)
    with pytest.raises(ParameterError, match="guidance_scale"):
        model.generate(num_images=1, diffusion_steps=1, labels="major", guidance_scale=-1.0)
    with pytest.raises(ParameterError, match="class_names"):
        DiffusionModel(network, class_names=["only one"])
    unconditional = DiffusionModel(build_unet((32, 32, 1), widths=(8, 16), block_depth=1, attention_levels=(),
                                              embedding_dims=8))
    with pytest.raises(ParameterError, match="takes no class label"):
        unconditional.generate(num_images=1, diffusion_steps=1, labels="major")


def test_conditional_training_sampling_and_guidance(two_class_dataset, tmp_path, capsys):
    run = tmp_path / "cond"
    argv = set_args([f"data_dir={two_class_dataset}", f"run_dir={run}", "epochs=2", "conditioning=label",
                     "label_dropout=0.2", "learning_rate=0.01"] + TINY)
    assert train_diffusion.main(argv) == 0
    model = load_sampler(run)  # class names come back from diffusion.json
    assert model.class_names == ["high", "low"]
    assert json.loads((run / "summary.json").read_text())["class_names"] == ["high", "low"]
    seeds = [0, 1]
    high = model.generate(seeds=seeds, diffusion_steps=2, labels="high", guidance_scale=3.0)
    low = model.generate(seeds=seeds, diffusion_steps=2, labels="low", guidance_scale=3.0)
    assert np.abs(high - low).mean() > 1e-4  # the label changes the sample ...
    unguided = model.generate(seeds=seeds, diffusion_steps=2)
    zero_scale = model.generate(seeds=seeds, diffusion_steps=2, labels="high", guidance_scale=0.0)
    np.testing.assert_allclose(zero_scale, unguided, atol=1e-5)  # ... and scale 0 is the unconditional model

    out = tmp_path / "out"
    assert sounds.main(["--model", str(run), "--num", "1", "--label", "low", "--steps", "2", "--out", str(out),
                        "--griffin-lim-iters", "2"]) == 0
    assert json.loads((out / "report.json").read_text())["label"] == "low"
    capsys.readouterr()
    assert sounds.main(["--model", str(run), "--num", "1", "--label", "dorian", "--steps", "2", "--out", str(out)]) == 2
    assert "dorian" in capsys.readouterr().err

    # guidance in a limited interval: the run's default, or the one asked for (0 inf: every step); a bad one refused
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["guidance_interval"] is None
    (run / "config.yaml").write_text(yaml.safe_dump({**config, "guidance_interval": [0.5, 10.0]}))
    asked = ["--model", str(run), "--num", "1", "--label", "low", "--steps", "2", "--griffin-lim-iters", "2"]
    assert sounds.main(asked + ["--out", str(tmp_path / "interval")]) == 0
    assert json.loads((tmp_path / "interval" / "report.json").read_text())["guidance_interval"] == [0.5, 10.0]
    assert sounds.main(asked + ["--out", str(tmp_path / "every"), "--guidance-interval", "0", "inf"]) == 0
    assert json.loads((tmp_path / "every" / "report.json").read_text())["guidance_interval"] == [0.0, float("inf")]
    capsys.readouterr()
    assert sounds.main(asked + ["--out", str(tmp_path / "bad"), "--guidance-interval", "2", "1"]) == 2
    assert "guidance_interval=[2.0, 1.0]" in capsys.readouterr().err
    (run / "config.yaml").write_text(yaml.safe_dump(config))

    # the label-effect report: one row per label and scale, shares summing to 1
    results = label_effect.run(label_effect.parse_args(["--model", str(run), "--num", "2", "--scales", "0", "2",
                                                        "--steps", "2", "--train-clips", "8", "--out", str(out)]))
    assert [(r["label"], r["guidance_scale"]) for r in results["rows"]] == [("high", 0), ("low", 0), ("high", 2), ("low", 2)]
    assert all(abs(sum(r["share_classified_as"].values()) - 1.0) < 1e-9 for r in results["rows"])
    assert 0.0 <= results["classifier_test_accuracy"] <= 1.0
    assert (out / "label_effect.json").is_file()
    assert {p["statistic"] for p in results["paired"]} == {"log_odds", "key_contrast"}

    # timbre features (tests/evaluation/test_timbre.py checks they separate instruments): no key contrast then;
    # without --steps, the model's own sampling_steps (2 here), as generate.sounds samples
    # --precision as in generate.sounds (the tiny run samples in float32 by default)
    assert results["precision"] == "float32"
    results = label_effect.run(label_effect.parse_args(["--model", str(run), "--num", "2", "--scales", "1",
                                                        "--train-clips", "8", "--features", "timbre", "--out", str(out),
                                                        "--precision", "bfloat16"]))
    assert results["precision"] == "bfloat16"
    assert results["features"] == "timbre" and not results["real_test_key_contrast"]
    assert results["steps"] == 2
    assert [p["statistic"] for p in results["paired"]] == ["log_odds"]


@pytest.mark.parametrize("blocks, condition_path", [
    ([], []),  # concat blocks: the condition biases only
    (["block_type=film"], ["condition_in_noise_embedding=true", "condition_adapter_rank=4"]),  # the shipped label model's
])
def test_freeze_init_from_trains_only_the_condition_path(two_class_dataset, tmp_path, capsys, blocks, condition_path):
    base = tmp_path / "base"
    assert train_diffusion.main(set_args([f"data_dir={two_class_dataset}", f"run_dir={base}", "epochs=1"] + TINY + blocks)) == 0
    run = tmp_path / "frozen"
    argv = set_args([f"data_dir={two_class_dataset}", f"run_dir={run}", "epochs=2", "conditioning=label",
                     f"init_from={base}", "freeze_init_from=true", "learning_rate=0.01"] + TINY + blocks + condition_path)
    assert train_diffusion.main(argv) == 0
    assert "(kept fixed)" in capsys.readouterr().out
    before, after = load_sampler(base), load_sampler(run)
    copied = changed = 0
    trained = set()
    for network in ("network", "ema_network"):
        for layer in getattr(after, network).layers:
            if not layer.weights:
                continue
            try:
                old = getattr(before, network).get_layer(layer.name).get_weights()
            except ValueError:  # a layer the unconditional model lacks: the class embedding, the condition biases
                if any(np.abs(w).max() > 0 for w in layer.get_weights()):
                    changed += 1
                    trained.add(layer.name)
                continue
            copied += 1
            for w_old, w_new in zip(old, layer.get_weights()):  # the EMA of a constant: equal to float32 rounding
                np.testing.assert_allclose(w_new, w_old, rtol=1e-6, atol=0 if network == "network" else 1e-7)
    assert copied > 0 and changed > 0  # the base kept as it was; the zero-initialised condition path trained
    if condition_path:  # the zero-initialised projection into the noise embedding and the adapters' outputs trained
        assert "condition_to_noise" in trained and any(name.endswith("_adapter_up") for name in trained)
    with pytest.raises(ParameterError, match=r"freeze_init_from needs init_from.*init_from=None"):
        DiffusionTrainConfig(freeze_init_from=True)
    with pytest.raises(ParameterError, match=r"condition_in_noise_embedding needs .*block_type='concat', conditioning='label'"):
        DiffusionTrainConfig(condition_in_noise_embedding=True, conditioning="label")
    with pytest.raises(ParameterError, match=r"condition_adapter_rank must be an int >= 0. Received: True"):
        DiffusionTrainConfig(condition_adapter_rank=True, block_type="film", conditioning="label")
    with pytest.raises(ParameterError, match=r"condition_adapter_rank needs .*block_type='film', conditioning=None"):
        DiffusionTrainConfig(condition_adapter_rank=8, block_type="film")


def test_conditioning_needs_labels(tiny_dataset, tmp_path, capsys):
    argv = set_args([f"data_dir={tiny_dataset}", f"run_dir={tmp_path / 'r'}", "epochs=1", "conditioning=label"] + TINY)
    assert train_diffusion.main(argv) == 2
    assert "labels" in capsys.readouterr().err
    assert train_diffusion.main(set_args([f"data_dir={tiny_dataset}", "conditioning=text_and_dreams"])) == 2
    assert "conditioning" in capsys.readouterr().err


def test_text_inputs_start_as_the_unconditional_network():
    network = build_unet((32, 32, 1), widths=(8, 16), block_depth=1, attention_levels=(1,), embedding_dims=8,
                         num_heads=2, context_shape=(5, 12))
    assert [i.name for i in network.inputs] == ["noisy_images", "noise_variances", "context_tokens", "context_mask"]
    assert any(layer.name.endswith("_cross") for layer in network.layers)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 32, 32, 1)).astype("float32")
    v = np.full((2, 1, 1, 1), 0.5, "float32")
    mask = np.array([[1, 1, 0, 0, 0], [1, 0, 0, 0, 0]], "float32")
    out = [network([x, v, rng.standard_normal((2, 5, 12)).astype("float32"), mask]).numpy() for _ in range(2)]
    np.testing.assert_allclose(out[0], out[1], atol=1e-6)  # zero gate and projection: the prompt has no effect yet
    with pytest.raises(ValueError, match="not both"):
        build_unet((32, 32, 1), widths=(8, 16), attention_levels=(), num_classes=2, context_shape=(5, 12))


def test_text_conditional_training_and_prompts(two_class_dataset, tmp_path, capsys):
    run = tmp_path / "text"
    argv = set_args([f"data_dir={two_class_dataset}", f"run_dir={run}", "epochs=2", "conditioning=text",
                     "text_max_tokens=8", "attention_levels=[1]", "num_heads=2", "learning_rate=0.01"]
                    + [p for p in TINY if not p.startswith("attention_levels")])
    assert train_diffusion.main(argv) == 0
    model = load_sampler(run)
    assert model.conditioning == "text" and model.context_shape == (8, 384)
    assert json.loads((run / "summary.json").read_text())["captions"] == ["high music", "low music"]

    from generate.trained_model import TrainedModel

    trained = TrainedModel(run)
    seeds = [0, 1]
    low = trained.spectrograms(seeds=seeds, steps=2, prompt="low music", guidance_scale=3.0)
    high = trained.spectrograms(seeds=seeds, steps=2, prompt="high music", guidance_scale=3.0)
    assert np.abs(high - low).mean() > 1e-5  # the prompt changes the sample
    unconditional = trained.spectrograms(seeds=seeds, steps=2)
    zero_scale = trained.spectrograms(seeds=seeds, steps=2, prompt="high music", guidance_scale=0.0)
    np.testing.assert_allclose(zero_scale, unconditional, atol=1e-5)

    out = tmp_path / "out"
    assert sounds.main(["--model", str(run), "--num", "1", "--prompt", "a low tone", "--steps", "2", "--out", str(out),
                        "--griffin-lim-iters", "2"]) == 0
    assert json.loads((out / "report.json").read_text())["prompt"] == "a low tone"
    capsys.readouterr()
    assert sounds.main(["--model", str(run), "--num", "1", "--label", "low", "--steps", "2", "--out", str(out)]) == 2
    assert "takes no class label" in capsys.readouterr().err
    assert sounds.main(["--model", str(run), "--num", "1", "--prompt", "   ", "--steps", "2", "--out", str(out)]) == 2
    capsys.readouterr()
    assert sounds.main(["--model", "saved_models/chorales_ddim", "--num", "1", "--prompt", "x", "--steps", "1",
                        "--data", str(two_class_dataset), "--out", str(out)]) == 2
    assert "takes no text prompt" in capsys.readouterr().err

    results = label_effect.run(label_effect.parse_args([
        "--model", str(run), "--num", "2", "--scales", "2", "--steps", "2", "--train-clips", "8", "--out", str(out),
        "--prompt", "high=high music", "--prompt", "low=low music"]))
    assert [(r["label"], r["prompt"]) for r in results["rows"]] == [("high", "high music"), ("low", "low music")]
    with pytest.raises(ParameterError, match="--prompt CLASS=TEXT"):
        label_effect.run(label_effect.parse_args(["--model", str(run), "--prompt", "high=x"]))


def tiny_network(**kwargs):
    return build_unet((16, 16, 1), widths=(8, 16), block_depth=1, attention_levels=(1,) if "context_shape" in kwargs else (),
                      patch_size=2, embedding_dims=8, num_heads=2, **kwargs)


@pytest.mark.parametrize("kwargs, conditioning", [({}, None), (dict(num_classes=2), "label"),
                                                  (dict(context_shape=(3, 6)), "text")])
def test_conditioning_is_stored_in_the_config_and_diffusion_json(tmp_path, kwargs, conditioning):
    from models.sampler_folder import save_sampler

    model = DiffusionModel(tiny_network(**kwargs), conditioning=conditioning)
    assert model.conditioning == conditioning and model.get_config()["conditioning"] == conditioning
    save_sampler(model, tmp_path / "run")
    assert json.loads((tmp_path / "run" / "diffusion.json").read_text())["conditioning"] == conditioning
    assert load_sampler(tmp_path / "run").conditioning == conditioning


@pytest.mark.parametrize("kwargs, conditioning", [(dict(num_classes=2), "label"), (dict(context_shape=(3, 6)), "text"),
                                                  ({}, None)])
def test_files_written_before_the_key_load_with_the_kind_inferred(tmp_path, kwargs, conditioning):
    from models.sampler_folder import save_sampler

    model = DiffusionModel(tiny_network(**kwargs), conditioning=conditioning)
    save_sampler(model, tmp_path / "run")
    path = tmp_path / "run" / "diffusion.json"
    config = json.loads(path.read_text())
    config.pop("conditioning")
    path.write_text(json.dumps(config))  # as the shipped models' diffusion.json
    reloaded = load_sampler(tmp_path / "run")
    assert reloaded.conditioning == conditioning
    assert reloaded.context_shape == ((3, 6) if conditioning == "text" else None)
    # and a full model's config from before the key (a .keras file)
    old = model.get_config()
    old.pop("conditioning")
    assert DiffusionModel.from_config(old).conditioning == conditioning


def test_conditioning_must_match_the_network():
    with pytest.raises(ParameterError, match=r"needs a network with inputs .*class_labels.*Received: conditioning='label'$"):
        DiffusionModel(tiny_network(), conditioning="label")
    with pytest.raises(ParameterError, match=r"this one takes 3: .*Received: conditioning=None$"):
        DiffusionModel(tiny_network(num_classes=2))  # a class network needs conditioning="label" (or class names)
    with pytest.raises(ParameterError, match=r"Received: conditioning='text'$"):
        DiffusionModel(tiny_network(num_classes=2), conditioning="text")
    with pytest.raises(ParameterError, match=r"conditioning must be None, 'label', 'text' or 'mask'\. Received: conditioning='audio'$"):
        DiffusionModel(tiny_network(), conditioning="audio")
    with pytest.raises(ParameterError, match=r"conditioning mask needs known_images of the noisy images' shape"):
        DiffusionModel(tiny_network(context_shape=(3, 6)), conditioning="mask")  # four inputs, but a text network's
    with pytest.raises(ParameterError, match=r"not class-conditional .*Received: class_names=\['a', 'b'\]$"):
        DiffusionModel(tiny_network(context_shape=(3, 6)), class_names=["a", "b"], conditioning="text")
