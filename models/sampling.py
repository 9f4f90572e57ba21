"""Sampling a trained `models.diffusion.DiffusionModel`: user input in, a sampler run, data in the stored scale out.

Each function checks what the user gives (seeds, labels, prompts, masks, shapes), draws
each sample's noise from its own seed (`models.samplers.base.SeededNoise`), hands the
model's EMA denoiser (`DiffusionModel.ema_denoiser`, conditioned and guided) to a sampler
of `models.samplers` and brings the result back to the stored scale. The models' methods
``generate``, ``inpaint`` and ``invert_to_noise`` call these.
"""

import numpy as np
from keras import ops

from common.errors import ParameterError
from models.samplers import DDIMInversion, InpaintingSampler, SeededNoise, build_sampler


def generate(model, num_images=None, diffusion_steps=20, seeds=None, batch_size=16, eta=0.0, labels=None,
             guidance_scale=1.0, context=None, sampler="ddim", guidance_rescale=0.0, clip_sample=False,
             guidance_interval=None):
    """Sample new data with the EMA network and a sampler (DDIM by default, `models.samplers.ddim.DDIMSampler`).

    Args:
        model: a `DiffusionModel`.
        num_images: int >= 1; ignored when ``seeds`` is given.
        diffusion_steps: int >= 1, DDIM steps (more is slower and usually cleaner).
        seeds: optional list of ints, one per sample: sample ``i`` depends only on
            ``seeds[i]`` (its initial noise and, when ``eta > 0``, the noise added at
            each step come from ``numpy.random.default_rng(seeds[i])``), so a batch is
            reproducible item by item. Default ``0..num_images-1``.
        batch_size: samples per network call.
        eta: float in [0, 1], the stochasticity of Song et al. 2021, eq. 16: 0 (default)
            is deterministic DDIM, 1 has the variance of DDPM's ancestral sampler.
        labels: class-conditional models only: None (unconditional samples), one class
            (a name of ``class_names`` or an index) for all samples, or one per sample.
        guidance_scale: float >= 0, classifier-free guidance (Ho and Salimans 2022): 0 is
            unconditional, 1 conditional without guidance, > 1 pushes towards the label.
        context: text-conditional models only: None (unconditional), or the prompt's
            ``(tokens (T, D), mask (T,))`` from `models.text_encoder.TextEncoder.encode`
            (one prompt for all samples) or ``(tokens (n, T, D), mask (n, T))``, one per sample.
        sampler: a name of `models.samplers.SAMPLERS`: ``"ddim"`` or ``"dpm++2m"`` (DPM-Solver++(2M),
            Lu et al. 2022; deterministic, so ``eta`` must be 0).
        guidance_rescale: float in [0, 1], with guidance: how far the guided output's spread is
            pulled back to the conditional output's (Lin et al. 2024, `models.diffusion.rescale_guidance`);
            0 (default) is plain classifier-free guidance.
        clip_sample: clip every step's x0 estimate to the data's range (static thresholding,
            `models.diffusion.DiffusionModel.ema_denoiser`); default False.
        guidance_interval: None (default: guided at every step) or ``(low, high)``, 0 <= low < high: with
            guidance, guide only where low < noise_rate / signal_rate <= high, the conditional output
            elsewhere (Kynkäänniemi et al. 2024, `models.conditioning.limit_guidance_to_interval`).
    Returns:
        float32 numpy array ``(num_images, *data_shape)`` in the stored scale
        (clipped to ``clip_range`` when set).
    Raises:
        ParameterError: if ``diffusion_steps`` < 1, no sample is asked for, ``eta`` is
            not in [0, 1], ``guidance_scale`` < 0, labels are given to an unconditional
            model, a label is not one of its classes, or ``clip_sample`` is asked of a
            model without a data range, or ``guidance_interval`` is not None or a pair 0 <= low < high.
    """
    sampler = build_sampler(sampler, model.schedule, diffusion_steps, eta)
    if seeds is None:
        if num_images is None or int(num_images) < 1:
            raise ParameterError(f"num_images must be >= 1. Received: num_images={num_images}")
        seeds = list(range(int(num_images)))
    noise = SeededNoise(seeds, model.data_shape)
    label_indices = model.label_indices(labels, len(noise), guidance_scale)
    context = model.prompt_context(context, len(noise))
    # each sample's first draw is its initial noise, later ones its steps' noise
    initial_noise = noise.draw()
    outputs = []
    for start in range(0, len(noise), batch_size):
        stop = start + batch_size
        conditions = None if label_indices is None else ops.convert_to_tensor(label_indices[start:stop])
        if context is not None:
            conditions = tuple(ops.convert_to_tensor(c[start:stop]) for c in context)
        denoise = model.ema_denoiser(conditions, float(guidance_scale), guidance_rescale, clip_sample, guidance_interval)
        images = sampler.sample(denoise, initial_noise[start:stop], noise.subset(start, stop).draw)
        outputs.append(ops.convert_to_numpy(model.destandardise(images)))
    return np.concatenate(outputs, axis=0)


def inpaint(model, known, mask, diffusion_steps=20, seeds=None, eta=0.0, resample=1, initial_noise=None):
    """Masked DDIM sampling: fill the unknown part of ``known`` (inpainting, outpainting).

    `models.samplers.inpainting.InpaintingSampler` (RePaint, Lugmayr et al. 2022, eq. 8 and
    Algorithm 1, with the DDIM update of Song et al. 2021, eq. 12 and 16); at the end the
    known region is put back exactly. With an all-zero mask, ``eta = 0``, ``resample = 1`` and
    no ``initial_noise``, the result equals `generate` for the same seeds.

    Args:
        model: an unconditional `DiffusionModel` (a label or text one samples unconditionally),
            or one with ``conditioning="mask"``, whose network is also given the known values
            and the mask at every step (Palette, Saharia et al. 2022).
        known: float array ``(batch, *data_shape)`` (or without the channel axis), stored
            scale; only its values where ``mask`` is 1 are used (finite there).
        mask: array broadcastable to ``known``, 1 (True) where the data are known, 0 where
            they are to be generated.
        diffusion_steps: int >= 1, DDIM steps (network evaluations: about ``diffusion_steps * resample``).
        seeds: list of ints, one per sample (default ``0..batch-1``): sample ``i``'s initial
            noise (first draw, unless ``initial_noise`` is given), then its known-region
            noise ``z`` and step noise, come from ``numpy.random.default_rng(seeds[i])``.
        eta: float in [0, 1], as in `generate`.
        resample: int >= 1, RePaint's U (1: plain masked DDIM).
        initial_noise: optional float32 ``(batch, *data_shape)``, the x_1 to start from
            (e.g. a spherical interpolation of two seeds' noises).
    Returns:
        float32 numpy array ``(batch, *data_shape)`` in the stored scale (clipped to
        ``clip_range`` when set), equal to ``known`` where ``mask`` is 1.
    Raises:
        ParameterError: for ``diffusion_steps`` or ``resample`` < 1, ``eta`` outside [0, 1],
            a shape that is not the model's, or a seed count that is not the batch size.
    """
    sampler = InpaintingSampler(model.schedule, diffusion_steps, eta, resample)
    known = np.asarray(known, dtype="float32")
    if known.ndim == len(model.data_shape):
        known = known[..., None]
    if tuple(known.shape[1:]) != tuple(model.data_shape):
        raise ParameterError(f"known must be (batch, *{tuple(model.data_shape)}). Received: known.shape={known.shape}")
    mask = np.asarray(mask, dtype="float32")
    mask = np.broadcast_to(mask.reshape(mask.shape + (1,) * (known.ndim - mask.ndim)), known.shape)
    noise = SeededNoise(range(known.shape[0]) if seeds is None else seeds, model.data_shape, count=known.shape[0])
    if initial_noise is None:
        initial_noise = noise.draw()
    else:
        initial_noise = ops.convert_to_tensor(np.asarray(initial_noise, dtype="float32").reshape(known.shape))
    known_images = ops.convert_to_tensor(
        np.where(mask > 0, (known - model.data_mean) / model.data_std, 0.0).astype("float32")
    )
    # a mask model was trained to fill a masked sample: it is shown the known part at every step
    conditions = (known_images, ops.convert_to_tensor(mask.astype("float32"))) if model.conditioning == "mask" else None
    pred_images = sampler.sample(model.ema_denoiser(conditions), initial_noise, known_images, mask, noise.draw)
    images = ops.convert_to_numpy(model.destandardise(pred_images))
    return np.where(mask > 0, known, images).astype("float32")


def invert_to_noise(model, images, diffusion_steps=20):
    """DDIM inversion: the initial noise from which deterministic DDIM sampling gives back ``images``.

    `models.samplers.inversion.DDIMInversion` (Song et al. 2021, eq. 12 with sigma_t = 0, run
    from t = 0 to t = 1); exact in the limit of many steps, an approximation with few.

    Args:
        model: an unconditional `DiffusionModel` (a conditional one inverts unconditionally).
        images: float32 ``(batch, *data_shape)`` in the stored scale (e.g. real clips,
            normalised to [0, 1]).
        diffusion_steps: int >= 1.
    Returns:
        float32 numpy ``(batch, *data_shape)``: noise in the standardised scale, to be
        given to `DiffusionModel.reverse_diffusion` (or `inpaint`'s ``initial_noise``).
    Raises:
        ParameterError: if ``diffusion_steps`` < 1 or ``images`` has another shape.
    """
    sampler = DDIMInversion(model.schedule, diffusion_steps)
    images = np.asarray(images, np.float32)
    if images.shape[1:] != tuple(model.data_shape):
        raise ParameterError(f"images must be (batch, *{tuple(model.data_shape)}). Received: images.shape={images.shape}")
    return ops.convert_to_numpy(sampler.sample(model.ema_denoiser(), model.standardise(ops.convert_to_tensor(images))))
