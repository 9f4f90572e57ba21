"""models.group_norm: the same normalization as Keras's GroupNormalization, and the swap in old networks."""

import keras
import numpy as np
import pytest

from models.group_norm import GroupNormalization, fast_group_norms


def paired(groups, shape, dtype="float32", center=True, scale=True, seed=0):
    """Keras's layer and ours, built on ``shape`` with the same random gamma and beta."""
    rng = np.random.default_rng(seed)
    theirs = keras.layers.GroupNormalization(groups=groups, epsilon=1e-5, center=center, scale=scale)
    ours = GroupNormalization(groups=groups, epsilon=1e-5, center=center, scale=scale, dtype=dtype)
    theirs.build(shape)
    ours.build(shape)
    weights = [rng.normal(1.0, 0.5, w.shape).astype("float32") for w in theirs.get_weights()]
    theirs.set_weights(weights)
    ours.set_weights(weights)
    return theirs, ours


@pytest.mark.parametrize("groups, shape", [(8, (3, 16, 12, 32)), (1, (2, 8, 5, 4)), (4, (2, 8, 5, 4)),
                                           (2, (3, 20, 6))])
def test_it_normalises_as_keras_does(groups, shape):
    theirs, ours = paired(groups, shape)
    rng = np.random.default_rng(1)
    # a per-channel offset and scale, so that groups differ and a wrong grouping shows
    x = (rng.normal(size=shape) * rng.uniform(0.1, 5, shape[-1]) + rng.uniform(-3, 3, shape[-1])).astype("float32")
    expected = np.asarray(theirs(x))
    assert np.allclose(np.asarray(ours(x)), expected, atol=2e-5)
    # each group of the output (before gamma and beta) has mean 0 and variance 1: the check is not vacuous
    plain, _ = paired(groups, shape, center=False, scale=False)
    normalised = np.asarray(plain(x)).reshape(shape[0], -1, groups, shape[-1] // groups)
    assert np.allclose(normalised.mean(axis=(1, 3)), 0, atol=1e-4)
    assert np.allclose(normalised.var(axis=(1, 3)), 1, atol=1e-2)


def test_a_bfloat16_layer_computes_in_float32_as_keras_does():
    # a mean 500 standard deviations from 0: in bfloat16 arithmetic (8 significant bits) it would cancel
    shape = (2, 8, 8, 16)
    theirs, ours = paired(4, shape, dtype="mixed_bfloat16")
    theirs_bf16 = keras.layers.GroupNormalization.from_config({**theirs.get_config(), "dtype": "mixed_bfloat16"})
    theirs_bf16.build(shape)
    theirs_bf16.set_weights(theirs.get_weights())
    x = keras.ops.cast(np.random.default_rng(2).normal(1000.0, 2.0, shape).astype("float32"), "bfloat16")
    got, expected = (np.asarray(keras.ops.cast(layer(x), "float32")) for layer in (ours, theirs_bf16))
    assert ours.compute_dtype == "bfloat16" and np.abs(got).mean() > 0.5
    # the same float32 arithmetic on the same inputs: at most one bfloat16 rounding step apart
    assert np.all(np.abs(got - expected) <= 2 ** -7 * np.abs(expected) + 1e-6)


def test_another_axis_is_keras_computation():
    shape = (2, 6, 8, 5)
    theirs = keras.layers.GroupNormalization(groups=2, axis=1)
    ours = GroupNormalization(groups=2, axis=1)
    x = np.random.default_rng(3).normal(size=shape).astype("float32")
    assert np.allclose(np.asarray(ours(x)), np.asarray(theirs(x)), atol=1e-6)


def test_an_old_network_gets_this_layer_with_its_weights():
    inputs = keras.Input((8, 6, 4))
    h = keras.layers.Conv2D(8, 3, padding="same", name="conv")(inputs)
    h = keras.layers.GroupNormalization(groups=4, name="norm")(h)
    old = keras.Model(inputs, keras.layers.Dense(2, name="dense")(h), name="unet")
    rng = np.random.default_rng(4)
    old.set_weights([rng.normal(size=w.shape).astype("float32") for w in old.get_weights()])
    new = fast_group_norms(old)
    assert type(new.get_layer("norm")) is GroupNormalization and new.name == "unet"
    assert type(old.get_layer("norm")) is keras.layers.GroupNormalization  # the original is left as it was
    x = rng.normal(size=(2, 8, 6, 4)).astype("float32")
    assert np.allclose(np.asarray(new(x)), np.asarray(old(x)), atol=1e-5)
    assert fast_group_norms(new) is new  # nothing to swap
