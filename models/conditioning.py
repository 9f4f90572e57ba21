"""Conditioning of the diffusion task: its kinds, the network inputs each needs, the "no condition", user input checks.

A diffusion model is unconditional (``None``), class-conditional (``"label"``: the network
of `models.unet.build_unet` with ``num_classes`` takes ``[noisy_images, noise_variances,
class_labels]``), text-conditional (``"text"``: with ``context_shape`` it takes
``[noisy_images, noise_variances, context_tokens, context_mask]``) or conditioned on a known
part of the sample (``"mask"``: with ``known_inputs`` it takes ``[noisy_images,
noise_variances, known_images, known_mask]``; Saharia et al., "Palette: Image-to-Image
Diffusion Models", SIGGRAPH 2022). The kind is stored in
the model's config (``conditioning``); `legacy_conditioning` infers it for the files
written before it was, and only loading code calls it.

Conditions, as the network is given them:
    label   int32 ``(batch,)`` class indices in [0, num_classes]; ``num_classes`` is the
            "no label" of classifier-free guidance (Ho and Salimans, "Classifier-Free
            Diffusion Guidance", 2022)
    text    ``(tokens (batch, T, D), mask (batch, T))`` float32, a prompt's token embeddings
            (`models.text_encoder.TextEncoder.encode`) and its 0/1 mask of real tokens
    mask    ``(known (batch, *data_shape), mask (batch, *data_shape))`` float32: the known
            values in the standardised scale (0 where unknown) and 1 where known, 0 where
            generated; all zeros is "nothing known", the unconditional model
"""

import numpy as np
from keras import ops

from common.errors import ParameterError
from models.self_conditioning import takes_previous_images

CONDITIONINGS = (None, "label", "text", "mask")
# the network inputs of each kind (models.unet.build_unet)
NETWORK_INPUTS = {
    None: ("noisy_images", "noise_variances"),
    "label": ("noisy_images", "noise_variances", "class_labels"),
    "text": ("noisy_images", "noise_variances", "context_tokens", "context_mask"),
    "mask": ("noisy_images", "noise_variances", "known_images", "known_mask"),
}


def as_list(conditions):
    """``conditions`` as a list of tensors: a text condition's ``(tokens, mask)`` or ``[labels]``."""
    return list(conditions) if isinstance(conditions, (tuple, list)) else [conditions]


def check_conditioning(network, conditioning, class_names=None):
    """Check that ``network`` takes the inputs of ``conditioning``; returns ``(num_classes, class_names, context_shape)``.

    Args:
        network: a functional Keras model (`models.unet.build_unet`).
        conditioning: None, ``"label"`` or ``"text"``.
        class_names: ``"label"`` only: the classes' names, one per class of the network
            (default ``"0"``, ``"1"``, ...).
    Returns:
        ``num_classes`` (int, ``"label"`` only, else None), ``class_names`` (list of str,
        ``"label"`` only, else None) and ``context_shape`` (``(T, D)``, ``"text"`` only, else None).
    Raises:
        ParameterError: for an unknown kind, a network whose inputs are not the kind's, class
            names for another kind, or class names that are not one per class.
    """
    if conditioning not in CONDITIONINGS:
        raise ParameterError(f"conditioning must be None, 'label', 'text' or 'mask'. Received: conditioning={conditioning!r}")
    expected = NETWORK_INPUTS[conditioning]
    # a self-conditioned network's last input is its previous estimate (models.self_conditioning)
    inputs = network.inputs[:-1] if takes_previous_images(network) else network.inputs
    if len(inputs) != len(expected):
        names = [getattr(i, "name", "?") for i in inputs]
        raise ParameterError(f"A model with conditioning {conditioning} needs a network with inputs {list(expected)}; "
                             f"this one takes {len(names)}: {names}. Received: conditioning={conditioning!r}")
    if conditioning == "mask" and tuple(inputs[2].shape[1:]) != tuple(inputs[0].shape[1:]):
        raise ParameterError(f"A model with conditioning mask needs known_images of the noisy images' shape "
                             f"{tuple(inputs[0].shape[1:])}. Received: {tuple(inputs[2].shape[1:])}")
    if conditioning != "label":
        if class_names:
            raise ParameterError(f"class_names given for a model that is not class-conditional (conditioning "
                                 f"{conditioning}). Received: class_names={class_names}")
        context_shape = tuple(int(v) for v in inputs[2].shape[1:]) if conditioning == "text" else None
        return None, None, context_shape
    try:
        num_classes = int(network.get_layer("class_embedding").input_dim) - 1  # the last index is "no label"
    except ValueError as err:
        raise ParameterError(f"A class-conditional network needs a layer named class_embedding ({err}). "
                             f"Received: conditioning={conditioning!r}") from err
    class_names = [str(c) for c in class_names] if class_names is not None else [str(i) for i in range(num_classes)]
    if len(class_names) != num_classes:
        raise ParameterError(f"class_names must name the network's {num_classes} classes. "
                             f"Received: class_names={class_names}")
    return num_classes, class_names, None


def legacy_conditioning(config, network):
    """``config`` with its ``"conditioning"``, inferred from ``network`` when the config predates the key.

    Configs (``diffusion.json``, a ``.keras`` file's model config) written before the kind was
    stored lack it; the kind is then read off the network as it used to be: three inputs
    are ``"label"``, four ``"text"``, two None. For loading code only.

    Args:
        config: dict of `models.diffusion.DiffusionModel` constructor arguments.
        network: the Keras network of that config.
    Returns:
        A new dict with ``"conditioning"`` set.
    """
    config = dict(config)
    if "conditioning" not in config:
        config["conditioning"] = {3: "label", 4: "text"}.get(len(network.inputs))
    return config


def null_conditions(conditioning, batch, num_classes=None, context_shape=None, data_shape=None):
    """The "no condition" of classifier-free guidance for ``batch`` samples (None for an unconditional model).

    Class models: the class index ``num_classes``, int32 ``(batch,)``. Text models: all-zero
    token embeddings ``(batch, T, D)`` with only the first token marked real in the mask
    ``(batch, T)`` (attention needs one key). Mask models: nothing known, zeros
    ``(batch, *data_shape)`` for both the known values and the mask.
    """
    if conditioning == "mask":
        zeros = ops.zeros((batch,) + tuple(data_shape))
        return zeros, zeros
    if conditioning == "label":
        return ops.full((batch,), num_classes, dtype="int32")
    if conditioning == "text":
        tokens, dims = context_shape
        mask = ops.concatenate([ops.ones((batch, 1)), ops.zeros((batch, tokens - 1))], axis=1)
        return ops.zeros((batch, tokens, dims)), mask
    return None


def network_inputs(conditioning, noisy_images, noise_rates, conditions):
    """The network's input list ``[noisy_images, noise_variances, *conditions]`` for ``conditioning``.

    Args:
        conditioning: None, ``"label"``, ``"text"`` or ``"mask"``.
        noisy_images: float32 ``(batch, *data_shape)``; noise_rates: float32 ``(batch, 1, 1, 1)``.
        conditions: as the module docstring says (ignored for an unconditional model).
    """
    inputs = [noisy_images, noise_rates**2]
    if conditioning is None:
        return inputs
    if conditioning == "label":
        return inputs + [ops.reshape(ops.cast(conditions, "int32"), (-1, 1))]
    tokens, mask = conditions
    return inputs + [ops.cast(tokens, "float32"), ops.cast(mask, "float32")]


def check_guidance_scale(guidance_scale):
    """``guidance_scale`` if it is a finite number >= 0 (not a bool), else ParameterError naming it."""
    if isinstance(guidance_scale, bool) or not isinstance(guidance_scale, (int, float, np.floating, np.integer)) \
            or not 0.0 <= guidance_scale < float("inf"):
        raise ParameterError(f"guidance_scale must be a number >= 0. Received: guidance_scale={guidance_scale!r}")
    return guidance_scale


def class_indices(labels, count, conditioning, class_names):
    """Class indices int32 ``(count,)`` for ``labels`` (None, one label, or one per sample), or None.

    Args:
        labels: None, a class (a name of ``class_names`` or an index) for all samples, or a
            list, tuple or array of them, one per sample.
        count: int, the number of samples.
        conditioning, class_names: the model's.
    Raises:
        ParameterError: for labels for a model that is not class-conditional, a label that is
            not one of its classes (the classes are named), or a list whose length is not ``count``.
    """
    if labels is None:
        return None
    if conditioning != "label":
        raise ParameterError(f"This model takes no class label (its conditioning: {conditioning}). "
                             f"Received: labels={labels!r}")
    items = list(labels) if isinstance(labels, (list, tuple, np.ndarray)) else [labels] * count
    if len(items) != count:
        raise ParameterError(f"labels must hold one label per sample ({count}). Received: {len(items)} labels")
    indices = []
    for item in items:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool) and 0 <= item < len(class_names):
            indices.append(int(item))
        elif str(item) in class_names:
            indices.append(class_names.index(str(item)))
        else:
            raise ParameterError(f"Unknown label; the model's classes are {class_names}. Received: label={item!r}")
    return np.asarray(indices, dtype="int32")


def prompt_tokens(context, count, conditioning, context_shape):
    """``(tokens (count, T, D), mask (count, T))`` float32 for a text model's ``context``, or None.

    Args:
        context: None, or one prompt's ``(tokens (T, D), mask (T,))`` for all samples, or
            ``(tokens (n, T, D), mask (n, T))``, one per sample.
        count: int, the number of samples.
        conditioning, context_shape: the model's.
    Raises:
        ParameterError: for a context given to a model that is not text-conditional, of another
            shape than the model's ``(T, D)``, or neither one prompt nor one per sample.
    """
    if context is None:
        return None
    if conditioning != "text":
        raise ParameterError(f"This model takes no text prompt (its conditioning: {conditioning}). Received: a prompt")
    tokens, mask = (np.asarray(c, "float32") for c in context)
    if tokens.ndim == 2:
        tokens, mask = tokens[None], mask[None]
    if tokens.shape[1:] != context_shape or mask.shape != tokens.shape[:2]:
        raise ParameterError(f"The prompt's tokens must be (T, D) = {context_shape} with a (T,) mask. "
                             f"Received: tokens {tokens.shape}, mask {mask.shape}")
    if len(tokens) == 1:
        tokens, mask = np.repeat(tokens, count, 0), np.repeat(mask, count, 0)
    if len(tokens) != count:
        raise ParameterError(f"context must hold one prompt, or one per sample ({count}). Received: {len(tokens)}")
    return tokens, mask


def check_guidance_rescale(guidance_rescale):
    """``float(guidance_rescale)`` if it is a number in [0, 1] (not a bool or NaN), else ParameterError naming it."""
    if isinstance(guidance_rescale, bool) or not isinstance(guidance_rescale, (int, float, np.floating, np.integer)) \
            or not 0.0 <= guidance_rescale <= 1.0:
        raise ParameterError(f"guidance_rescale must be a number in [0, 1]. Received: guidance_rescale={guidance_rescale!r}")
    return float(guidance_rescale)


def rescale_guidance(guided, conditional, guidance_rescale):
    """Guidance rescale (Lin et al., "Common Diffusion Noise Schedules and Sample Steps are Flawed", WACV 2024, eq. 15-16).

    Classifier-free guidance with a large weight inflates the guided output's standard
    deviation, which over-exposes samples (here: spectrograms too loud and too bright).
        rescaled = guided * std(conditional) / std(guided)                      (eq. 15)
        result   = phi * rescaled + (1 - phi) * guided                          (eq. 16)
    with the standard deviations per sample, over all its values, and phi = ``guidance_rescale``.

    Args:
        guided, conditional: float ``(batch, *data_shape)``: the guided and the conditional network outputs.
        guidance_rescale: float phi in [0, 1]; 0 returns ``guided``.
    Returns:
        float ``(batch, *data_shape)``.
    """
    axes = tuple(range(1, len(guided.shape)))
    guided_std = ops.std(guided, axis=axes, keepdims=True)
    conditional_std = ops.std(conditional, axis=axes, keepdims=True)
    rescaled = guided * (conditional_std / ops.maximum(guided_std, 1e-8))
    return guidance_rescale * rescaled + (1.0 - guidance_rescale) * guided


def check_guidance_interval(guidance_interval):
    """None, or ``(low, high)`` as floats if it is a pair of numbers with 0 <= low < high (high may be inf).

    Raises:
        ParameterError: naming the value, for anything else (one number, three, a bool, NaN, low >= high).
    """
    if guidance_interval is None:
        return None
    numbers = (int, float, np.floating, np.integer)
    if isinstance(guidance_interval, (str, bytes)) or not hasattr(guidance_interval, "__len__") \
            or len(guidance_interval) != 2 \
            or any(isinstance(v, bool) or not isinstance(v, numbers) for v in guidance_interval) \
            or not 0.0 <= guidance_interval[0] < guidance_interval[1]:
        raise ParameterError("guidance_interval must be null or [low, high], noise-to-signal ratios with "
                             f"0 <= low < high. Received: guidance_interval={guidance_interval!r}")
    return float(guidance_interval[0]), float(guidance_interval[1])


def limit_guidance_to_interval(guided, conditional, guidance_interval, noise_rates, signal_rates):
    """Guidance in a limited interval (Kynkäänniemi et al., "Applying Guidance in a Limited Interval
    Improves Sample and Distribution Quality in Diffusion Models", NeurIPS 2024, arXiv:2404.07724).

    The guided output where the noise level sigma = noise_rate / signal_rate (the noise-to-signal
    ratio of the variance-preserving x_t = s * x0 + n * eps, EDM's sigma for data of unit variance)
    lies in (low, high], the conditional output (guidance weight 1) elsewhere:
        out = out_guided       if low < sigma <= high
              out_conditional  otherwise
    Guidance at the noisiest steps pulls every sample towards the same few modes (less variety,
    a worse FAD); at the cleanest ones it does little. The paper's interval for EDM2 on
    ImageNet-512 is (0.28, 5.42] at sigma_data = 0.5, i.e. about (0.56, 10.8] at unit variance.

    Args:
        guided, conditional: float ``(batch, *data_shape)``: the guided and the conditional network outputs.
        guidance_interval: ``(low, high)`` floats, 0 <= low < high (`check_guidance_interval`).
        noise_rates, signal_rates: float32 ``(batch, 1, ..., 1)``, broadcastable to the outputs.
    Returns:
        float ``(batch, *data_shape)``.
    """
    low, high = guidance_interval
    sigmas = noise_rates / signal_rates
    inside = ops.logical_and(sigmas > low, sigmas <= high)
    return ops.where(inside, guided, ops.cast(conditional, guided.dtype))
