"""The U-Net builder and its custom layers."""

import keras
import numpy as np
import pytest

from models.layers import FrequencyAttention, FrequencyMixing, SinusoidalEmbedding, SpatialSelfAttention
from models.unet import build_unet


def tiny_unet(**kwargs):
    args = dict(widths=(8, 16), block_depth=1, attention_levels=(1,), patch_size=2, embedding_dims=8, num_heads=2)
    args.update(kwargs)
    return build_unet((32, 16, 1), **args)


def test_output_shape_and_zero_init():
    network = tiny_unet()
    images = np.random.default_rng(0).standard_normal((3, 32, 16, 1)).astype("float32")
    variances = np.full((3, 1, 1, 1), 0.5, "float32")
    out = network.predict([images, variances], verbose=0)
    assert out.shape == (3, 32, 16, 1)
    # the zero-initialised head predicts no noise before training
    assert np.all(out == 0.0)


def test_save_and_reload_safe_mode(tmp_path):
    network = tiny_unet()
    head = network.get_layer("patch_head")
    head.set_weights([np.random.default_rng(1).standard_normal(w.shape).astype("float32") for w in head.get_weights()])
    images = np.random.default_rng(0).standard_normal((2, 32, 16, 1)).astype("float32")
    variances = np.full((2, 1, 1, 1), 0.3, "float32")
    expected = network.predict([images, variances], verbose=0)
    network.save(tmp_path / "unet.keras")
    reloaded = keras.saving.load_model(tmp_path / "unet.keras", safe_mode=True)
    np.testing.assert_allclose(reloaded.predict([images, variances], verbose=0), expected, atol=1e-5)
    assert np.abs(expected).max() > 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(patch_size=3), "divisible"),
        (dict(attention_levels=(5,)), "attention_levels"),
        (dict(block_depth=0), "block_depth"),
        (dict(frequency_mixing_levels=(2,)), "frequency_mixing_levels=\\(2,\\)"),
        (dict(frequency_attention_levels=(-1,)), "frequency_attention_levels=\\(-1,\\)"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_unet(**kwargs)


def test_sinusoidal_embedding_values_and_config():
    layer = SinusoidalEmbedding(embedding_dims=6, max_frequency=100.0)
    x = np.array([[[[0.0]]], [[[0.25]]]], "float32")
    out = keras.ops.convert_to_numpy(layer(x))
    assert out.shape == (2, 1, 1, 6)
    np.testing.assert_allclose(out[0, 0, 0], [0, 0, 0, 1, 1, 1], atol=1e-6)
    np.testing.assert_allclose(out[1, 0, 0, 0], np.sin(2 * np.pi * 0.25), atol=1e-5)
    assert SinusoidalEmbedding.from_config(layer.get_config()).max_frequency == 100.0
    with pytest.raises(ValueError, match="embedding_dims"):
        SinusoidalEmbedding(embedding_dims=5)


def test_attention_keeps_shape_and_is_residual():
    layer = SpatialSelfAttention(num_heads=2)
    x = np.random.default_rng(0).standard_normal((2, 4, 3, 8)).astype("float32")
    out = keras.ops.convert_to_numpy(layer(x))
    assert out.shape == x.shape
    assert not np.allclose(out, x)
    with pytest.raises(ValueError, match="num_heads"):
        SpatialSelfAttention(num_heads=3)(x)


def _randomise(network, seed=1):
    rng = np.random.default_rng(seed)
    network.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.1 for w in network.get_weights()])


def test_film_blocks_start_as_identity_reload_and_take_the_noise_level_in_every_block(tmp_path):
    network = tiny_unet(block_type="film", widths=(8, 16), num_heads=2)
    images = np.random.default_rng(0).standard_normal((2, 32, 16, 1)).astype("float32")
    low, high = np.full((2, 1, 1, 1), 0.1, "float32"), np.full((2, 1, 1, 1), 0.9, "float32")
    assert np.all(network.predict([images, low], verbose=0) == 0.0)  # zero-initialised head and block outputs
    # every residual block scales and shifts by the noise embedding; none concatenates it at the stem
    names = [layer.name for layer in network.layers]
    assert sum(name.endswith("_scale_shift") for name in names) == 3 and "stem_concat" not in names
    _randomise(network)
    out_low, out_high = network.predict([images, low], verbose=0), network.predict([images, high], verbose=0)
    assert np.abs(out_low - out_high).max() > 1e-3  # the noise level changes the output
    network.save(tmp_path / "film.keras")
    reloaded = keras.saving.load_model(tmp_path / "film.keras", safe_mode=True)
    np.testing.assert_allclose(reloaded.predict([images, low], verbose=0), out_low, atol=1e-5)


def test_condition_in_noise_embedding_starts_as_without_and_then_modulates_every_block(tmp_path):
    network = tiny_unet(block_type="film", num_classes=2, condition_in_noise_embedding=True)
    images = np.random.default_rng(0).standard_normal((2, 32, 16, 1)).astype("float32")
    variances = np.full((2, 1, 1, 1), 0.5, "float32")
    organ, piano = np.zeros((2, 1), "int32"), np.ones((2, 1), "int32")
    _randomise(network)
    projection = network.get_layer("condition_to_noise")
    biases = [layer for layer in network.layers if layer.name.endswith("_condition")]
    assert biases  # the per-block condition biases are there besides
    for layer in [projection, *biases]:  # as built: zero-initialised condition layers
        layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    np.testing.assert_array_equal(network.predict([images, variances, organ], verbose=0),
                                  network.predict([images, variances, piano], verbose=0))
    # only the projection into the noise embedding trained: the label alone now changes the output
    projection.set_weights([np.random.default_rng(2).standard_normal(w.shape).astype("float32") for w in projection.get_weights()])
    out_organ = network.predict([images, variances, organ], verbose=0)
    assert np.abs(out_organ - network.predict([images, variances, piano], verbose=0)).max() > 1e-3
    network.save(tmp_path / "film_condition.keras")
    reloaded = keras.saving.load_model(tmp_path / "film_condition.keras", safe_mode=True)
    np.testing.assert_allclose(reloaded.predict([images, variances, organ], verbose=0), out_organ, atol=1e-5)


def test_condition_adapters_start_as_without_and_give_the_label_a_path_of_its_own():
    plain = tiny_unet(block_type="film", num_classes=2)
    adapted = tiny_unet(block_type="film", num_classes=2, condition_adapter_rank=4)
    images = np.random.default_rng(0).standard_normal((2, 32, 16, 1)).astype("float32")
    variances = np.full((2, 1, 1, 1), 0.5, "float32")
    organ, piano = np.zeros((2, 1), "int32"), np.ones((2, 1), "int32")
    _randomise(plain)
    for layer in plain.layers:  # the plain network's weights, copied by name as init_from does
        if layer.weights:
            adapted.get_layer(layer.name).set_weights(layer.get_weights())
    new = [layer for layer in adapted.layers if "_adapter_" in layer.name and layer.weights]
    assert {layer.name.rsplit("_adapter_", 1)[1] for layer in new} == {"down", "condition", "up"}
    assert len(new) == 3 * sum(layer.name.endswith("_scale_shift") for layer in adapted.layers)  # one per block
    np.testing.assert_allclose(adapted.predict([images, variances, piano], verbose=0),
                               plain.predict([images, variances, piano], verbose=0), atol=1e-6)
    # zero the per-block condition biases: the label then acts only through the adapters once they train
    for layer in adapted.layers:
        if layer.name.endswith("_condition") and "_adapter_" not in layer.name:
            layer.set_weights([np.zeros_like(w) for w in layer.get_weights()])
    rng = np.random.default_rng(3)
    for layer in new:
        layer.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.3 for w in layer.get_weights()])
    out_organ, out_piano = (adapted.predict([images, variances, label], verbose=0) for label in (organ, piano))
    assert np.abs(out_organ - out_piano).max() > 1e-3


@pytest.mark.parametrize("kwargs", [dict(block_type="concat", num_classes=2), dict(block_type="film")])
@pytest.mark.parametrize("option", [dict(condition_in_noise_embedding=True), dict(condition_adapter_rank=4)])
def test_condition_options_need_film_blocks_and_a_condition(kwargs, option):
    with pytest.raises(ValueError, match=f"{next(iter(option))} needs block_type 'film' and a class or text "
                                         "condition. Received: block_type="):
        tiny_unet(**option, **kwargs)
    with pytest.raises(ValueError, match=r"condition_adapter_rank must be an int >= 0. Received: condition_adapter_rank=-1"):
        tiny_unet(block_type="film", num_classes=2, condition_adapter_rank=-1)
    with pytest.raises(ValueError, match=r"condition_adapter_rank must be an int >= 0. Received: condition_adapter_rank=True"):
        tiny_unet(block_type="film", num_classes=2, condition_adapter_rank=True)  # a bool is not a rank


def test_unknown_block_type_is_refused():
    with pytest.raises(ValueError, match="block_type must be one of .*Received: block_type='resnet'"):
        tiny_unet(block_type="resnet")


def test_frequency_mixing_starts_as_identity_and_links_distant_frequencies(tmp_path):
    layer = FrequencyMixing()
    x = np.random.default_rng(0).standard_normal((2, 16, 3, 8)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), x, atol=1e-6)  # identity before training
    layer.set_weights([np.random.default_rng(1).standard_normal(w.shape).astype("float32") for w in layer.get_weights()])
    # a change in the lowest bin reaches the highest one in one layer (a 3x3 conv reaches one bin)
    poked = x.copy()
    poked[:, 0] += 1.0
    change = keras.ops.convert_to_numpy(layer(poked)) - keras.ops.convert_to_numpy(layer(x))
    assert np.abs(change[:, -1]).max() > 1e-3
    # the formula, y = x + P(M GN(x)) + b, in numpy
    mixing, projection, bias = (keras.ops.convert_to_numpy(w) for w in (layer.mixing, layer.projection.kernel, layer.projection.bias))
    expected = x + np.einsum("gf,bftc->bgtc", mixing, keras.ops.convert_to_numpy(layer.norm(x))) @ projection + bias
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "kwargs, layer_type, names",
    [
        (dict(frequency_mixing_levels=(0, 1)), FrequencyMixing, ["down0_res0_fmix", "mid_res0_fmix", "up0_res0_fmix"]),
        (dict(frequency_attention_levels=(0,)), FrequencyAttention, ["down0_res0_fattn", "up0_res0_fattn"]),
    ],
)
def test_frequency_levels_add_identity_layers_that_reload(tmp_path, kwargs, layer_type, names):
    plain = tiny_unet(block_type="film")
    extended = tiny_unet(block_type="film", **kwargs)
    assert sorted(layer.name for layer in extended.layers if isinstance(layer, layer_type)) == names
    _randomise(plain)
    for layer in plain.layers:  # the same weights in the layers both networks have (init_from)
        if layer.get_weights():
            extended.get_layer(layer.name).set_weights(layer.get_weights())
    images = np.random.default_rng(0).standard_normal((2, 32, 16, 1)).astype("float32")
    variances = np.full((2, 1, 1, 1), 0.4, "float32")
    expected = plain.predict([images, variances], verbose=0)
    np.testing.assert_allclose(extended.predict([images, variances], verbose=0), expected, atol=1e-5)
    for layer in extended.layers:
        if isinstance(layer, layer_type):  # weights (and the attention's gate) away from the identity
            layer.set_weights([np.random.default_rng(2).standard_normal(w.shape).astype("float32") * 0.5
                               for w in layer.get_weights()])
    out = extended.predict([images, variances], verbose=0)
    assert np.abs(out - expected).max() > 1e-4
    extended.save(tmp_path / "extended.keras")
    reloaded = keras.saving.load_model(tmp_path / "extended.keras", safe_mode=True)
    np.testing.assert_allclose(reloaded.predict([images, variances], verbose=0), out, atol=1e-5)


def test_frequency_attention_starts_as_identity_and_attends_within_each_frame_only():
    layer = FrequencyAttention(num_heads=2)
    x = np.random.default_rng(0).standard_normal((2, 16, 5, 8)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), x, atol=1e-6)  # gate 0: identity
    layer.gate.assign(1.0)
    poked = x.copy()  # frame 2's lowest and highest bins swapped (GroupNorm's statistics stay the same)
    poked[:, [0, -1], 2] = x[:, [-1, 0], 2]
    change = np.abs(keras.ops.convert_to_numpy(layer(poked)) - keras.ops.convert_to_numpy(layer(x)))
    assert change[:, 8, 2].max() > 1e-3  # reaches a middle bin of the same frame
    np.testing.assert_allclose(change[:, :, [0, 1, 3, 4]], 0.0, atol=1e-5)  # and no other frame
    with pytest.raises(ValueError, match="channels=6, num_heads=4"):
        FrequencyAttention(num_heads=4)(np.zeros((1, 8, 2, 6), "float32"))


def _trained_head(network, seed=1):
    """Random weights in every zero-initialised conv, so the blocks' branches reach the output."""
    rng = np.random.default_rng(seed)
    for layer in network.layers:
        if layer.name.endswith("_conv2") or layer.name == "patch_head":
            layer.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.3 for w in layer.get_weights()])


def test_dropout_acts_in_training_only_and_adds_no_weights():
    plain = tiny_unet(block_type="film")
    dropped = tiny_unet(block_type="film", dropout=0.5)
    assert [w.shape for w in plain.weights] == [w.shape for w in dropped.weights]
    _trained_head(plain)
    dropped.set_weights(plain.get_weights())
    images = np.random.default_rng(0).standard_normal((2, 32, 16, 1)).astype("float32")
    variances = np.full((2, 1, 1, 1), 0.3, "float32")
    expected = keras.ops.convert_to_numpy(plain([images, variances], training=False))
    # inference: the same function as the network without dropout
    np.testing.assert_allclose(keras.ops.convert_to_numpy(dropped([images, variances], training=False)), expected, atol=1e-5)
    # training: units dropped, so the output moves
    trained = keras.ops.convert_to_numpy(dropped([images, variances], training=True))
    assert np.abs(trained - expected).max() > 1e-3
    assert sum(layer.name.endswith("_dropout") for layer in dropped.layers) == 3  # one per residual block


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(block_type="film", dropout=1.0), "dropout=1.0"),
        (dict(block_type="film", dropout=-0.1), "dropout=-0.1"),
        (dict(block_type="film", dropout=True), "dropout=True"),
        (dict(block_type="concat", dropout=0.1), "block_type='concat'"),
    ],
)
def test_bad_dropout(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_unet(**kwargs)
