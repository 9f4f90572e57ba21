"""models.samplers.inpainting: masked DDIM with RePaint resampling, and DiffusionModel.inpaint on a tiny network."""

import numpy as np
import pytest
from keras import ops

from common.errors import ParameterError
from models.noise_schedule import CosineNoiseSchedule
from models.samplers import DDIMSampler, InpaintingSampler, SeededNoise, renoise
from tests.models.diffusion_helpers import perturbed, tiny_model

SHAPE = (2, 4, 6, 1)


class RecordingDenoiser:
    """A linear eps-denoiser, ``eps_hat = 0.5 * x_t``, that records the samples it is given."""

    def __init__(self):
        self.inputs = []

    def __call__(self, noisy_images, noise_rates, signal_rates):
        self.inputs.append((ops.convert_to_numpy(noisy_images), ops.convert_to_numpy(signal_rates)))
        pred_noises = 0.5 * noisy_images
        return pred_noises, (noisy_images - noise_rates * pred_noises) / signal_rates


def test_renoise_is_one_forward_step():
    schedule = CosineNoiseSchedule()
    rates = schedule(np.full((1, 1, 1, 1), 0.6, "float32"))
    next_rates = schedule(np.full((1, 1, 1, 1), 0.4, "float32"))
    (n, s), (next_n, next_s) = [[float(ops.convert_to_numpy(r)[0, 0, 0, 0]) for r in pair] for pair in (rates, next_rates)]
    ones, zeros = np.ones((1, 1, 1, 1), "float32"), np.zeros((1, 1, 1, 1), "float32")
    kept = float(ops.convert_to_numpy(renoise(ones, rates, next_rates, zeros))[0, 0, 0, 0])
    added = float(ops.convert_to_numpy(renoise(zeros, rates, next_rates, ones))[0, 0, 0, 0])
    # x_{t-1} = s_{t-1} x_0 + n_{t-1} e  ->  x_t: signal s_t x_0, noise variance n_t**2 (Ho et al. 2020, eq. 2 and 4)
    assert kept * next_s == pytest.approx(s, rel=1e-6)
    assert (kept * next_n) ** 2 + added**2 == pytest.approx(n**2, rel=1e-5)


def test_known_region_is_noised_to_the_current_level():
    """RePaint eq. 8: where the mask is 1 the denoiser sees s_t * x_0^known (+ n_t * z, zero here)."""
    schedule = CosineNoiseSchedule()
    rng = np.random.default_rng(0)
    known = rng.standard_normal(SHAPE).astype("float32")
    keep = np.zeros(SHAPE, "float32")
    keep[:, :, :3] = 1.0
    denoise = RecordingDenoiser()
    zeros = lambda: np.zeros(SHAPE, "float32")  # noqa: E731
    InpaintingSampler(schedule, 3, resample=2).sample(denoise, rng.standard_normal(SHAPE).astype("float32"), known, keep,
                                                      zeros)
    assert len(denoise.inputs) == 2 * 2 + 1  # U rounds for each step but the last, which takes one
    for noisy_images, signal_rates in denoise.inputs:
        np.testing.assert_allclose(noisy_images[:, :, :3], signal_rates * known[:, :, :3], rtol=1e-6)
        assert not np.allclose(noisy_images[:, :, 3:], signal_rates * known[:, :, 3:])


@pytest.mark.parametrize("eta, resample, draws", [(0.0, 1, 3), (0.5, 1, 5), (0.0, 2, 7), (0.5, 2, 11)])
def test_noise_draws_per_step(eta, resample, draws):
    """Each round draws the known region's z; then, but for the last step, eps_t (eta > 0) and the back step's z."""
    count = []

    def noise():
        count.append(1)
        return np.zeros(SHAPE, "float32")

    InpaintingSampler(CosineNoiseSchedule(), 3, eta, resample).sample(
        RecordingDenoiser(), np.ones(SHAPE, "float32"), np.zeros(SHAPE, "float32"), np.zeros(SHAPE, "float32"), noise)
    assert len(count) == draws


def test_empty_mask_is_plain_ddim():
    schedule = CosineNoiseSchedule()
    x1 = np.random.default_rng(1).standard_normal(SHAPE).astype("float32")
    free = InpaintingSampler(schedule, 4).sample(RecordingDenoiser(), x1, np.ones(SHAPE, "float32"),
                                                 np.zeros(SHAPE, "float32"), SeededNoise([0, 1], SHAPE[1:]).draw)
    np.testing.assert_array_equal(ops.convert_to_numpy(free),
                                  ops.convert_to_numpy(DDIMSampler(schedule, 4).sample(RecordingDenoiser(), x1)))


@pytest.mark.parametrize("kwargs, message", [(dict(resample=0), "resample=0"), (dict(resample=1.5), "resample=1.5"),
                                             (dict(diffusion_steps=0), "diffusion_steps=0"), (dict(eta=2), "eta=2")])
def test_bad_arguments_name_the_value(kwargs, message):
    with pytest.raises(ParameterError, match=f"Received: {message}$"):
        InpaintingSampler(CosineNoiseSchedule(), **{"diffusion_steps": 3, **kwargs})


def reference_inpaint(model, known, mask, diffusion_steps, seeds, eta, resample):
    """`DiffusionModel.inpaint` as written before the samplers (arguments already checked and shaped)."""
    generators = [np.random.default_rng(s) for s in seeds]

    def draw():
        return ops.convert_to_tensor(np.stack([g.standard_normal(model.data_shape).astype("float32") for g in generators]))

    noisy_images = draw()
    denoise = model.ema_denoiser()
    known_std = ops.convert_to_tensor(np.where(mask > 0, (known - model.data_mean) / model.data_std, 0.0).astype("float32"))
    keep = ops.convert_to_tensor(mask)
    free = 1.0 - keep
    step_size = 1.0 / diffusion_steps
    pred_images = noisy_images
    for step in range(diffusion_steps):
        diffusion_times = ops.ones((len(seeds), 1, 1, 1)) - step * step_size
        noise_rates, signal_rates = model.schedule(diffusion_times)
        next_noise_rates, next_signal_rates = model.schedule(diffusion_times - step_size)
        for round_ in range(resample):
            noisy_images = keep * (signal_rates * known_std + noise_rates * draw()) + free * noisy_images
            pred_noises, pred_images = denoise(noisy_images, noise_rates, signal_rates)
            if step == diffusion_steps - 1:
                break
            if eta == 0.0:
                next_noisy_images = next_signal_rates * pred_images + next_noise_rates * pred_noises
            else:
                ratio = ops.maximum(1.0 - ops.square(signal_rates) / ops.square(next_signal_rates), 0.0)
                sigmas = eta * next_noise_rates / noise_rates * ops.sqrt(ratio)
                direction_rates = ops.sqrt(ops.maximum(ops.square(next_noise_rates) - ops.square(sigmas), 0.0))
                next_noisy_images = next_signal_rates * pred_images + direction_rates * pred_noises + sigmas * draw()
            if round_ < resample - 1:
                back = signal_rates / next_signal_rates
                noisy_images = back * next_noisy_images + ops.sqrt(ops.maximum(1.0 - ops.square(back), 0.0)) * draw()
            else:
                noisy_images = next_noisy_images
    images = ops.convert_to_numpy(model.destandardise(pred_images))
    return np.where(mask > 0, known, images).astype("float32")


@pytest.mark.parametrize("eta, resample", [(0.0, 1), (0.6, 3)])
def test_model_inpaint_keeps_the_known_region_and_equals_the_former_loop(eta, resample):
    model = perturbed(tiny_model())
    known = np.random.default_rng(2).uniform(size=(2, 16, 16, 1)).astype("float32")
    mask = np.zeros((2, 16, 16, 1), "float32")
    mask[:, :, :6] = 1.0
    out = model.inpaint(known, mask[:1, :1, :, 0], diffusion_steps=3, seeds=[8, 9], eta=eta, resample=resample)
    assert out.shape == known.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[:, :, :6], known[:, :, :6])
    assert not np.allclose(out[:, :, 6:], known[:, :, 6:], atol=1e-2)
    assert out.min() >= 0.0 and out.max() <= 1.0  # clip_range
    np.testing.assert_array_equal(out, reference_inpaint(model, known, mask, 3, [8, 9], eta, resample))


def test_model_inpaint_bad_input():
    model = tiny_model()
    with pytest.raises(ParameterError, match=r"Received: known.shape=\(1, 8, 16, 1\)"):
        model.inpaint(np.zeros((1, 8, 16, 1)), 0.0, diffusion_steps=2)
    with pytest.raises(ParameterError, match=r"one seed per sample \(2\)\. Received: seeds=\[1\]"):
        model.inpaint(np.zeros((2, 16, 16)), 0.0, diffusion_steps=2, seeds=[1])
    with pytest.raises(ParameterError, match="Received: resample=0$"):
        model.inpaint(np.zeros((1, 16, 16)), 0.0, diffusion_steps=2, resample=0)
