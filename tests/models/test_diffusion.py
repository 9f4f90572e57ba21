"""The diffusion task (models.diffusion): training steps, EMA, targets, losses, sampling (eta), save and reload."""

import numpy as np
import pytest
import tensorflow as tf
import keras

from common.errors import ParameterError
from models.diffusion import DiffusionModel
from models.objective import estimates, spectral_norm_loss, time_derivative_loss
from models.sampler_folder import load_sampler, save_sampler
from models.unet import build_unet
from tests.models.diffusion_helpers import blobs, perturbed, tiny_model


def test_training_lowers_loss_and_moves_ema():
    model = tiny_model(ema_momentum=0.9)
    ds = tf.data.Dataset.from_tensor_slices(blobs()).batch(8).repeat()
    ema_before = [w.copy() for w in model.ema_network.get_weights()]
    history = model.fit(ds, steps_per_epoch=20, epochs=3, verbose=0)
    losses = history.history["n_loss"]
    assert losses[-1] < losses[0]
    moved = [not np.allclose(a, b) for a, b in zip(ema_before, model.ema_network.get_weights())]
    assert any(moved)
    # EMA weights lag the trained ones
    assert not all(np.allclose(a, b) for a, b in zip(model.network.get_weights(), model.ema_network.get_weights()))


def test_sampling_traces_the_network_once_for_every_batch_size_and_step():
    model = tiny_model()
    model.generate(seeds=[0], diffusion_steps=1)  # a warm-up on one sample
    model.generate(seeds=list(range(5)), diffusion_steps=3, batch_size=3)  # batches of 3 and 2, three steps each
    model.invert_to_noise(np.zeros((2, 16, 16, 1), "float32"), diffusion_steps=2)
    (key, denoiser), = model._compiled_denoisers.items()
    # (kind, guidance, rescale, clip, guidance interval)
    assert key == (None, 1.0, 0.0, False, None) and denoiser.experimental_get_tracing_count() == 1


def test_generate_is_reproducible_per_seed_and_clipped():
    model = tiny_model()
    both = model.generate(seeds=[3, 4], diffusion_steps=3)
    alone = model.generate(seeds=[4], diffusion_steps=3)
    assert both.shape == (2, 16, 16, 1)
    np.testing.assert_allclose(both[1], alone[0], atol=1e-5)
    assert not np.allclose(both[0], both[1])
    assert both.min() >= 0.0 and both.max() <= 1.0


def test_generate_bad_arguments():
    model = tiny_model()
    with pytest.raises(ParameterError, match="diffusion_steps"):
        model.generate(num_images=1, diffusion_steps=0)
    with pytest.raises(ParameterError, match="num_images"):
        model.generate(num_images=0)


@pytest.mark.parametrize(
    "kwargs, message", [(dict(loss_type="l3"), "loss_type"), (dict(data_std=0.0), "data_std"), (dict(ema_momentum=1.0), "ema_momentum")]
)
def test_bad_constructor_arguments(kwargs, message):
    network = build_unet((16, 16, 1), widths=(8,), block_depth=1, attention_levels=(), patch_size=2, embedding_dims=8)
    with pytest.raises(ParameterError, match=message):
        DiffusionModel(network, **kwargs)


def test_save_sampler_round_trip(tmp_path):
    model = tiny_model()
    ds = tf.data.Dataset.from_tensor_slices(blobs()).batch(8).repeat()
    model.fit(ds, steps_per_epoch=3, epochs=1, verbose=0)
    expected = model.generate(seeds=[7], diffusion_steps=4)
    save_sampler(model, tmp_path / "run")
    reloaded = load_sampler(tmp_path / "run")
    np.testing.assert_allclose(reloaded.generate(seeds=[7], diffusion_steps=4), expected, atol=1e-5)
    assert reloaded.data_std == pytest.approx(0.25)
    assert reloaded.clip_range == (0.0, 1.0)


def test_full_model_keras_round_trip(tmp_path):
    model = tiny_model()
    model.save(tmp_path / "ddim.keras")
    reloaded = keras.saving.load_model(tmp_path / "ddim.keras", compile=False)
    assert isinstance(reloaded, DiffusionModel)
    np.testing.assert_allclose(reloaded.generate(seeds=[1], diffusion_steps=2), model.generate(seeds=[1], diffusion_steps=2), atol=1e-5)


def test_load_sampler_missing_files(tmp_path):
    with pytest.raises(ParameterError, match="network.keras"):
        load_sampler(tmp_path)


def reference_generate(model, seeds, diffusion_steps):
    """The sampler as it was before eta and the prediction targets (deterministic DDIM, eps network)."""
    denoise = tf.function(lambda x, n, s: (model.ema_network([x, n**2], training=False),), reduce_retracing=True)
    noise = np.stack([np.random.default_rng(int(s)).standard_normal(model.data_shape).astype("float32") for s in seeds])
    next_noisy_images = pred_images = tf.convert_to_tensor(noise)
    step_size = 1.0 / diffusion_steps
    for step in range(diffusion_steps):
        noisy_images = next_noisy_images
        diffusion_times = keras.ops.ones((len(seeds), 1, 1, 1)) - step * step_size
        noise_rates, signal_rates = model.schedule(diffusion_times)
        (pred_noises,) = denoise(noisy_images, noise_rates, signal_rates)
        pred_images = (noisy_images - noise_rates * pred_noises) / signal_rates
        next_noise_rates, next_signal_rates = model.schedule(diffusion_times - step_size)
        next_noisy_images = next_signal_rates * pred_images + next_noise_rates * pred_noises
    return keras.ops.convert_to_numpy(model.destandardise(pred_images))


def test_eta_zero_reproduces_the_deterministic_sampler():
    keras.utils.set_random_seed(0)
    model = perturbed(tiny_model())
    expected = reference_generate(model, [3, 4, 5], 4)
    np.testing.assert_allclose(model.generate(seeds=[3, 4, 5], diffusion_steps=4), expected, atol=1e-6)
    np.testing.assert_array_equal(model.generate(seeds=[3, 4, 5], diffusion_steps=4, eta=0.0),
                                  model.generate(seeds=[3, 4, 5], diffusion_steps=4))


def test_eta_adds_noise_drawn_per_sample():
    model = perturbed(tiny_model())
    both = model.generate(seeds=[3, 4], diffusion_steps=4, eta=1.0, batch_size=2)
    alone = model.generate(seeds=[4], diffusion_steps=4, eta=1.0)
    np.testing.assert_allclose(both[1], alone[0], atol=1e-5)  # sample i depends only on seeds[i]
    np.testing.assert_array_equal(both, model.generate(seeds=[3, 4], diffusion_steps=4, eta=1.0))
    deterministic = model.generate(seeds=[3, 4], diffusion_steps=4)
    assert not np.allclose(both, deterministic, atol=1e-3)
    # one step has no intermediate remix, so eta changes nothing
    np.testing.assert_array_equal(model.generate(seeds=[3], diffusion_steps=1, eta=0.5), model.generate(seeds=[3], diffusion_steps=1))


@pytest.mark.parametrize("eta", [-0.1, 1.5, float("nan"), "0.5", True])
def test_eta_out_of_range(eta):
    with pytest.raises(ParameterError, match="eta"):
        tiny_model().generate(seeds=[0], diffusion_steps=2, eta=eta)


@pytest.mark.parametrize("prediction", ["eps", "v", "x0"])
def test_estimates_recover_x0_and_eps_from_each_target(prediction):
    rng = np.random.default_rng(0)
    images, noises = rng.standard_normal((2, 3, 4, 4, 1)).astype("float32")
    model = tiny_model(prediction=prediction)
    for t in (0.05, 0.5, 0.95):
        noise_rates, signal_rates = model.schedule(np.full((3, 1, 1, 1), t, "float32"))
        noisy_images = signal_rates * images + noise_rates * noises
        targets = model.targets(images, noises, noise_rates, signal_rates)
        pred_noises, pred_images = estimates(prediction, targets, noisy_images, noise_rates, signal_rates)
        np.testing.assert_allclose(pred_noises, noises, atol=2e-5)
        np.testing.assert_allclose(pred_images, images, atol=2e-5)


@pytest.mark.parametrize("prediction, weight", [
    ("eps", lambda snr, g: np.minimum(snr, g) / snr),
    ("v", lambda snr, g: np.minimum(snr, g) / (snr + 1)),
    ("x0", lambda snr, g: np.minimum(snr, g)),
])
def test_min_snr_weights(prediction, weight):
    model = tiny_model(prediction=prediction, min_snr_gamma=5.0)
    noise_rates, signal_rates = model.schedule(np.linspace(0.0, 1.0, 9, dtype="float32").reshape(-1, 1, 1, 1))
    snr = (np.asarray(signal_rates) / np.asarray(noise_rates)).ravel() ** 2
    assert snr.max() > 5.0 > snr.min()  # both sides of gamma are exercised
    np.testing.assert_allclose(model.snr_weights(noise_rates, signal_rates), weight(snr, 5.0), rtol=1e-5)


def test_auxiliary_losses():
    real = np.zeros((2, 4, 3, 1), "float32")
    real[0, :, 1] = 1.0  # a one-frame note: norm 2, time differences +1 then -1
    predicted = np.zeros_like(real)
    predicted[1] = 0.5  # flat: norm sqrt(12) / 2, no time differences
    assert float(spectral_norm_loss(real, predicted)) == pytest.approx((2.0 + np.sqrt(12) / 2) / 2, rel=1e-5)
    assert float(time_derivative_loss(real, predicted)) == pytest.approx(8 / 16, rel=1e-6)
    assert float(time_derivative_loss(real, real)) == 0.0


def one_sgd_step(model, images):
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model.train_step(tf.convert_to_tensor(images))
    return model.network.get_weights()


@pytest.mark.parametrize("weights", [dict(spectral_norm_weight=0.1), dict(time_derivative_weight=1.0), dict(min_snr_gamma=1.0)])
def test_loss_terms_change_the_gradient(weights):
    """A non-zero auxiliary weight (or Min-SNR) changes the update: it is inside the GradientTape."""
    keras.utils.set_random_seed(0)
    plain = tiny_model()
    other = tiny_model(**weights)
    other.network.set_weights(plain.network.get_weights())
    after_plain, after_other = one_sgd_step(plain, blobs(8)), one_sgd_step(other, blobs(8))
    assert any(not np.allclose(a, b, atol=1e-7) for a, b in zip(after_plain, after_other))

    # the same, read off the gradient of `objective` directly
    images = plain.standardise(tf.convert_to_tensor(blobs(4)))
    noises = tf.random.stateless_normal(images.shape, seed=(1, 2))
    noise_rates, signal_rates = plain.schedule(tf.fill((4, 1, 1, 1), 0.3))
    noisy_images = signal_rates * images + noise_rates * noises
    gradients = []
    for model in (plain, other):
        with tf.GradientTape() as tape:
            loss, _, _ = model.objective(images, noises, noisy_images, noise_rates, signal_rates)
        gradients.append(tape.gradient(loss, model.network.trainable_weights))
    assert any(not np.allclose(a, b, atol=1e-7) for a, b in zip(*gradients))


def test_training_another_target_reports_the_objective():
    model = tiny_model(prediction="x0", min_snr_gamma=5.0, time_derivative_weight=0.5)
    ds = tf.data.Dataset.from_tensor_slices(blobs()).batch(8).repeat()
    history = model.fit(ds, steps_per_epoch=3, epochs=1, verbose=0, validation_data=ds, validation_steps=1)
    assert {"loss", "n_loss", "i_loss", "val_loss"} <= set(history.history)
    assert np.isfinite([v[-1] for v in history.history.values()]).all()
    assert [m.name for m in tiny_model().metrics] == ["n_loss", "i_loss"]  # default: the same history columns as before


def test_new_settings_survive_save_and_load(tmp_path):
    from models.noise_schedule import LinearBetaSchedule

    network = build_unet((16, 16, 1), widths=(8, 16), block_depth=1, attention_levels=(), patch_size=2, embedding_dims=8)
    model = DiffusionModel(network, LinearBetaSchedule(), data_mean=0.5, data_std=0.25, clip_range=(0.0, 1.0),
                           prediction="v", min_snr_gamma=5.0, spectral_norm_weight=0.01, time_derivative_weight=0.5)
    perturbed(model)
    save_sampler(model, tmp_path / "run")
    reloaded = load_sampler(tmp_path / "run")
    assert isinstance(reloaded.schedule, LinearBetaSchedule)
    assert (reloaded.prediction, reloaded.min_snr_gamma, reloaded.spectral_norm_weight, reloaded.time_derivative_weight) == ("v", 5.0, 0.01, 0.5)
    np.testing.assert_array_equal(reloaded.generate(seeds=[2], diffusion_steps=3, eta=0.5),
                                  model.generate(seeds=[2], diffusion_steps=3, eta=0.5))


def test_diffusion_json_without_the_new_keys_loads_as_before(tmp_path):
    import json

    model = perturbed(tiny_model())
    save_sampler(model, tmp_path / "run")
    path = tmp_path / "run" / "diffusion.json"
    config = json.loads(path.read_text())
    for key in ("prediction", "min_snr_gamma", "spectral_norm_weight", "time_derivative_weight"):
        config.pop(key)
    path.write_text(json.dumps(config))  # what the shipped model's diffusion.json holds
    reloaded = load_sampler(tmp_path / "run")
    assert (reloaded.prediction, reloaded.min_snr_gamma, reloaded.spectral_norm_weight) == ("eps", None, 0.0)
    np.testing.assert_array_equal(reloaded.generate(seeds=[5], diffusion_steps=3), model.generate(seeds=[5], diffusion_steps=3))
