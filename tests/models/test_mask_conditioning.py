"""Palette-style conditioning on a known part of the sample: the masks drawn in training, the network, the model."""

import numpy as np
import pytest
import tensorflow as tf

from common.errors import ParameterError
from models.diffusion import DiffusionModel
from models.training_draws import mask_draws
from models.unet import build_unet
from preprocessing.harmonisation import harmonisation_mask
from preprocessing.note_grid import ONSET, SUSTAIN


def seeds(i):
    return tf.constant([[i, 1], [i, 2]], tf.int64)


def draw_masks(kinds, image, count=60, **options):
    draw = mask_draws(kinds, **options)
    return [draw(image, seeds(i))[3].numpy() for i in range(count)]


def test_column_masks_cut_the_clip_in_two_non_empty_parts():
    image = tf.zeros((6, 16, 2))
    for kind, check in [
        ("prefix", lambda known: known[0] and not known[-1] and np.all(np.diff(known.astype(int)) <= 0)),
        ("suffix", lambda known: known[-1] and not known[0] and np.all(np.diff(known.astype(int)) >= 0)),
        ("span", lambda known: 0 < known.sum() < 16 and np.count_nonzero(np.diff(known.astype(int)) == -1) <= 1),
    ]:
        masks = draw_masks([kind], image)
        for mask in masks:
            assert mask.shape == (6, 16, 2) and set(np.unique(mask)) <= {0.0, 1.0}
            assert np.all(mask == mask[:1, :, :1])  # the same for every row and channel: whole columns
            known = mask[0, :, 0] > 0
            assert 0 < known.sum() < 16 and check(known), (kind, known)
        assert len({int(m.sum()) for m in masks}) > 5  # the cut moves


def test_kinds_are_drawn_uniformly_and_by_the_seeds_alone():
    image = tf.zeros((4, 8, 1))
    masks = draw_masks(["none", "prefix"], image, count=200)
    nothing = sum(not m.any() for m in masks)
    assert 70 < nothing < 130
    again = draw_masks(["none", "prefix"], image, count=20)
    assert all(np.array_equal(a, b) for a, b in zip(masks, again))


def test_top_voice_is_the_harmonisation_mask_of_the_highest_part():
    lowest, n_pitches, n_steps = 40, 30, 16
    roll = np.zeros((n_pitches, n_steps, 2), np.float32)
    melody = np.array([[66, 0, 4], [64, 6, 12], [67, 12, 16]])  # a rest of all voices at steps 4-5
    for pitch, start, stop in melody.tolist() + [[50, 0, 4], [50, 6, 16], [45, 2, 4], [45, 6, 9]]:  # two lower voices
        roll[pitch - lowest, start:stop, SUSTAIN] = 1.0
        roll[pitch - lowest, start, ONSET] = 1.0
    mask = draw_masks(["top_voice"], tf.constant(roll), count=1)[0]
    _, keep = harmonisation_mask(melody, lowest, lowest + n_pitches - 1, n_steps=n_steps)
    np.testing.assert_array_equal(mask, keep)
    silent = draw_masks(["top_voice"], tf.zeros((n_pitches, n_steps, 2)), count=1)[0]
    assert not silent.any()


def test_in_a_voice_roll_top_voice_is_the_first_voices_channels_everywhere():
    rng = np.random.default_rng(0)
    roll = (rng.uniform(size=(12, 16, 8)) > 0.8).astype(np.float32)  # any notes: the mask does not look at them
    for image in (roll, np.zeros_like(roll)):
        mask = draw_masks(["top_voice"], tf.constant(image), count=1, n_voices=4)[0]
        assert mask[..., :2].all() and not mask[..., 2:].any()  # exactly channels 0 and 1, every row and step
        _, keep = harmonisation_mask(np.array([[60, 0, 16]]), 50, 61, n_steps=16, n_voices=4)
        np.testing.assert_array_equal(mask, keep)  # what harmonisation makes known
    merged = draw_masks(["top_voice"], tf.constant(roll[..., :2]), count=1)[0]  # without n_voices: the merged rule
    assert merged[..., 0].any() and not merged[..., 0].all() and np.array_equal(merged[..., 0], merged[..., 1])
    prefix = draw_masks(["prefix"], tf.constant(roll), count=1, n_voices=4)[0]  # the other kinds: whole columns
    assert np.all(prefix == prefix[:1, :, :1]) and 0 < prefix.sum() < prefix.size
    with pytest.raises(ParameterError, match="Received: n_voices=1"):
        mask_draws(["none", "top_voice"], n_voices=1)
    mask_draws(["prefix"], n_voices=1)  # a roll of one voice may still learn to continue


def test_unknown_kinds_are_refused_by_name():
    with pytest.raises(ParameterError, match=r"mask_kinds must name some of .*Received: mask_kinds=\['prefix', 'middle'\]"):
        mask_draws(["prefix", "middle"])
    with pytest.raises(ParameterError, match="mask_kinds"):
        mask_draws([])


def tiny_mask_model():
    network = build_unet((8, 16, 2), widths=(8, 16), block_depth=1, attention_levels=(), embedding_dims=8,
                         patch_size=1, block_type="film", known_inputs=True)
    return DiffusionModel(network, conditioning="mask", data_mean=0.3, data_std=0.4, clip_range=(0.0, 1.0))


def randomise(network, seed=1):
    rng = np.random.default_rng(seed)
    network.set_weights([rng.standard_normal(w.shape).astype("float32") * 0.1 for w in network.get_weights()])


def test_the_known_stem_starts_at_zero_so_the_known_part_changes_nothing_until_trained():
    model = tiny_mask_model()
    assert [i.name for i in model.network.inputs] == ["noisy_images", "noise_variances", "known_images", "known_mask"]
    randomise(model.network)
    stem = model.network.get_layer("known_stem")
    stem.set_weights([np.zeros_like(w) for w in stem.get_weights()])
    model.ema_network.set_weights(model.network.get_weights())
    rng = np.random.default_rng(0)
    known = rng.uniform(size=(2, 8, 16, 2)).astype("float32")
    mask = np.zeros_like(known)
    mask[:, :, :8] = 1.0
    blank = model.inpaint(known, np.zeros_like(mask), diffusion_steps=3, seeds=[5, 6])
    uncond = model.generate(num_images=2, diffusion_steps=3, seeds=[5, 6])
    np.testing.assert_allclose(blank, uncond, atol=1e-5)  # nothing known: the unconditional sample
    with_stem_zero = model.inpaint(known, mask, diffusion_steps=3, seeds=[5, 6])
    stem.set_weights([w + 0.5 for w in stem.get_weights()])
    model.ema_network.set_weights(model.network.get_weights())
    with_stem = model.inpaint(known, mask, diffusion_steps=3, seeds=[5, 6])
    # the known part is kept exactly, and the network sees it: the generated part depends on the stem
    np.testing.assert_array_equal(with_stem[:, :, :8], known[:, :, :8])
    assert np.abs(with_stem[:, :, 8:] - with_stem_zero[:, :, 8:]).max() > 1e-3


def test_training_steps_take_the_drawn_masks():
    model = tiny_mask_model()
    randomise(model.network)  # (untrained, the zero-initialised head passes no gradient back)
    stem = model.network.get_layer("known_stem")
    stem.set_weights([np.zeros_like(w) for w in stem.get_weights()])
    model.compile(optimizer="adam")
    draw = mask_draws(["prefix", "top_voice"])
    roll = np.zeros((8, 16, 2), np.float32)
    roll[5, :, SUSTAIN] = 1.0
    elements = [draw(tf.constant(roll), seeds(i)) for i in range(4)]
    batch = tuple(tf.stack([e[k] for e in elements]) for k in range(4))
    before = model.network.get_layer("known_stem").get_weights()[0].copy()
    logs = model.train_step(batch)
    assert np.isfinite(float(logs["n_loss"]))
    assert np.abs(model.network.get_layer("known_stem").get_weights()[0] - before).max() > 0  # it learns from the mask


def test_a_mask_model_needs_known_inputs_of_the_sample_shape():
    plain = build_unet((8, 16, 2), widths=(8, 16), block_depth=1, attention_levels=(), embedding_dims=8, patch_size=1)
    with pytest.raises(ParameterError, match="conditioning mask needs a network with inputs"):
        DiffusionModel(plain, conditioning="mask")
    with pytest.raises(ValueError, match="known_inputs"):
        build_unet((8, 16, 2), widths=(8, 16), attention_levels=(), patch_size=1, known_inputs=True, num_classes=2)
