"""The denoising U-Net: a functional Keras network, no loss (the DDIM task wraps it).

Layout follows the Keras DDIM example (residual blocks, skip connections,
noise-variance embedding concatenated to the stem features), with three
changes that make it cheap enough for a CPU on large spectrograms:

* a patch stem: a ``patch_size`` x ``patch_size`` strided convolution turns each
  patch of the spectrogram into one feature vector, and a transposed
  convolution of the same size maps back (the patchify stem of Peebles and Xie,
  "Scalable Diffusion Models with Transformers", ICCV 2023), so the network
  works at 1/``patch_size`` of the input resolution without losing the input's
  detail in a fixed transform;
* self-attention only at the resolutions listed in ``attention_levels``;
* optionally, frequency mixing (`models.layers.FrequencyMixing`) after the blocks of the
  levels in ``frequency_mixing_levels``: one learned matrix over the frequency axis links a
  note's partials, which lie farther apart than a convolution reaches;
* optionally, frequency attention (`models.layers.FrequencyAttention`) after the blocks of
  the levels in ``frequency_attention_levels``: self-attention along the frequency axis within
  each frame, which links bins by what sounds in that frame;
* a zero-initialised output layer, so the untrained network predicts zero noise
  (Ho et al. 2020 reference implementation; Nichol and Dhariwal 2021).
"""

import keras
import numpy as np
from keras import layers

from common.errors import ParameterError
from models.group_norm import GroupNormalization
from models.self_conditioning import INPUT_NAME as SELF_CONDITION_INPUT
from models.layers import (
    ConditionBias,
    FrequencyAttention,
    FrequencyMixing,
    MaskedMean,
    ScaleShift,
    SinusoidalEmbedding,
    SpatialCrossAttention,
    SpatialSelfAttention,
)

BLOCK_TYPES = ("concat", "film")


def check_dropout(dropout, block_type):
    """Check ``dropout`` (`build_unet`'s): a number in [0, 1), nonzero only with ``block_type`` ``"film"``.

    Raises:
        ParameterError (a ValueError): naming the value.
    """
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
        raise ParameterError(f"dropout must be a number in [0, 1). Received: dropout={dropout!r}")
    if dropout and block_type != "film":
        raise ParameterError(f"dropout needs block_type 'film'. Received: block_type={block_type!r}, dropout={dropout!r}")


def start_as_identity(network, new_layer_names):
    """Make layers new to a network initialised from a shallower one pass their input through.

    Function-preserving deepening (Chen, Goodfellow and Shlens, "Net2Net: Accelerating Learning
    via Knowledge Transfer", ICLR 2016, Sec. 2.3, Net2DeeperNet): a ``"film"`` network with a
    larger ``block_depth``, initialised (`train.diffusion.initialise_from`) from one with the same
    widths, then computes what the smaller one did. Its new ADM blocks already start as the
    identity (their last conv is zero-initialised) and `models.layers.FrequencyAttention` is
    gated at 0; what remains is set here, for the layers named in ``new_layer_names``:

    - an up block's 1x1 shortcut (``up{level}_res{b}_proj``, b >= 1) takes the block before's
      output ``x`` and a skip of the same width, concatenated ``[x, skip]``; its kernel becomes
      ``[I; 0]`` and its bias 0, so it passes ``x`` on;
    - a `models.layers.SpatialSelfAttention` (``y = x + MHA(GN(x))``) gets a zero output
      projection, so ``y = x``.

    Other new layers are left as built. Args: network, a `build_unet` model; new_layer_names:
    names of its layers that were not copied. Returns: the names of the layers changed.
    """
    changed = []
    for layer in network.layers:
        if layer.name not in new_layer_names or not layer.weights:
            continue
        if layer.name.startswith("up") and layer.name.endswith("_proj") and not layer.name.endswith("_res0_proj"):
            kernel, bias = layer.get_weights()
            width = kernel.shape[-1]
            if kernel.shape[:3] != (1, 1, 2 * width):
                continue
            kernel = np.zeros_like(kernel)
            kernel[0, 0, :width, :] = np.eye(width, dtype=kernel.dtype)
            layer.set_weights([kernel, np.zeros_like(bias)])
        elif isinstance(layer, SpatialSelfAttention):
            layer.set_weights([np.zeros_like(w) if "attention_output" in v.path else w
                               for v, w in zip(layer.weights, layer.get_weights())])
        else:
            continue
        changed.append(layer.name)
    return changed


def _residual_block(width, name, condition=None):
    def apply(x):
        input_width = x.shape[-1]
        residual = x if input_width == width else layers.Conv2D(width, 1, name=f"{name}_proj")(x)
        # synchronized: under tf.distribute the batch statistics are those of the global batch
        x = layers.BatchNormalization(center=False, scale=False, synchronized=True, name=f"{name}_bn")(x)
        x = layers.Conv2D(width, 3, padding="same", activation="swish", name=f"{name}_conv1")(x)
        if condition is not None:  # conditional networks: the class or prompt in every block
            x = ConditionBias(name=f"{name}_condition")([x, condition])
        x = layers.Conv2D(width, 3, padding="same", name=f"{name}_conv2")(x)
        return layers.Add(name=f"{name}_add")([x, residual])

    return apply


def _film_residual_block(width, name, noise_embedding, condition=None, groups=8, adapter_rank=0, dropout=0.0):
    """The ADM residual block (Dhariwal and Nichol 2021, Sec. 3; Ho et al. 2020, appendix B):
    GroupNorm, swish, conv; GroupNorm scaled and shifted by the noise-level embedding
    (`models.layers.ScaleShift`), swish, dropout (none at rate 0), a zero-initialised conv;
    plus the input. Every block sees the noise level, and starts as the identity. With
    ``adapter_rank`` a condition-modulated bottleneck runs beside the first conv (`build_unet`'s
    ``condition_adapter_rank``)."""

    def apply(x):
        input_width = x.shape[-1]
        residual = x if input_width == width else layers.Conv2D(width, 1, name=f"{name}_proj")(x)
        a = GroupNormalization(groups=min(groups, input_width), name=f"{name}_norm1")(x)
        a = layers.Activation("swish", name=f"{name}_act1")(a)
        h = layers.Conv2D(width, 3, padding="same", name=f"{name}_conv1")(a)
        if adapter_rank:
            adapter = layers.Conv2D(adapter_rank, 3, padding="same", name=f"{name}_adapter_down")(a)
            adapter = ScaleShift(name=f"{name}_adapter_condition")([adapter, condition])
            adapter = layers.Activation("swish", name=f"{name}_adapter_act")(adapter)
            adapter = layers.Conv2D(width, 1, kernel_initializer="zeros", name=f"{name}_adapter_up")(adapter)
            h = layers.Add(name=f"{name}_adapter_add")([h, adapter])
        if condition is not None:  # conditional networks: the class or prompt in every block
            h = ConditionBias(name=f"{name}_condition")([h, condition])
        h = GroupNormalization(groups=min(groups, width), name=f"{name}_norm2")(h)
        h = ScaleShift(name=f"{name}_scale_shift")([h, noise_embedding])
        h = layers.Activation("swish", name=f"{name}_act2")(h)
        if dropout:  # before the last conv, as in Ho et al. 2020's and ADM's blocks; no weights
            h = layers.Dropout(dropout, name=f"{name}_dropout")(h)
        h = layers.Conv2D(width, 3, padding="same", kernel_initializer="zeros", name=f"{name}_conv2")(h)
        return layers.Add(name=f"{name}_add")([h, residual])

    return apply


def build_unet(
    input_shape,
    widths=(32, 64, 96, 128),
    block_depth=2,
    attention_levels=(3,),
    frequency_mixing_levels=(),
    frequency_attention_levels=(),
    patch_size=4,
    embedding_dims=32,
    embedding_max_frequency=1000.0,
    num_heads=4,
    num_classes=None,
    context_shape=None,
    known_inputs=False,
    block_type="concat",
    norm_groups=8,
    condition_in_noise_embedding=False,
    condition_adapter_rank=0,
    self_conditioning=False,
    dropout=0.0,
    name="unet",
):
    """Build the noise-predicting U-Net.

    Args:
        input_shape: ``(height, width, channels)`` of one sample, e.g. ``(512, 192, 1)``
            (frequency bins, frames, 1). Height and width must be divisible by
            ``patch_size * 2**(len(widths) - 1)``.
        widths: channels at each resolution level, from fine to coarse; the last
            level is the bottleneck.
        block_depth: residual blocks per level on the way down (and up).
        attention_levels: level indices (0 = finest) whose blocks are followed by
            self-attention.
        frequency_mixing_levels: level indices whose blocks are followed by a
            `models.layers.FrequencyMixing` layer (mixing along the height axis, the
            frequency bins); () for none (the shipped audio models before it).
        frequency_attention_levels: level indices whose blocks are followed by a
            `models.layers.FrequencyAttention` layer (attention along the height axis within
            each frame, after the mixing where both are chosen); () for none.
        patch_size: side of the square patches of the stem (1 = no patching).
        embedding_dims: size of the sinusoidal noise-variance embedding (even).
        embedding_max_frequency: highest embedding frequency.
        num_heads: attention heads (each width at an attention level must be divisible by it).
        num_classes: None (unconditional), or the number of class labels C >= 1: the
            network then takes a third input, ``class_labels`` int32 ``(batch, 1)`` in
            ``[0, C]``, where C is the "no label" class of classifier-free guidance (Ho and
            Salimans, "Classifier-Free Diffusion Guidance", 2022). Its learned embedding enters
            every residual block through a zero-initialised projection
            (`models.layers.ConditionBias`; class conditioning as in Dhariwal and Nichol 2021,
            Sec. 4), so a new class input starts as the unconditional network.
        context_shape: None, or ``(tokens, context_dims)`` of a text encoder's token
            embeddings (e.g. ``(16, 384)``, `models.text_encoder`): the network then takes
            ``context_tokens`` float32 ``(batch, tokens, context_dims)`` and ``context_mask``
            float32 ``(batch, tokens)`` (1 for real tokens); their masked mean enters every
            residual block through a zero-initialised projection (`models.layers.ConditionBias`),
            and gated cross-attention (`models.layers.SpatialCrossAttention`) follows every
            self-attention block. Not together with ``num_classes``.
        known_inputs: True for a network conditioned on a known part of the sample
            (Palette: Saharia et al., "Palette: Image-to-Image Diffusion Models", SIGGRAPH
            2022, where the condition image is concatenated to the noisy one): it then takes
            ``known_images`` float32 ``(batch, *input_shape)`` (the known values, standardised,
            0 where unknown) and ``known_mask`` float32 ``(batch, *input_shape)`` (1 known, 0
            unknown), which a zero-initialised patch convolution (``known_stem``) adds to the
            stem's features, so an unconditional network given them starts as it was. Not
            together with ``num_classes`` or ``context_shape``.
        block_type: ``"concat"``: the Keras DDIM example's layout (the shipped models'):
            the noise embedding is concatenated to the stem's features once, and the
            residual blocks are BatchNorm, conv, conv. ``"film"``: the ADM layout
            (Dhariwal and Nichol 2021): the noise embedding goes through a two-layer MLP
            (Ho et al. 2020, appendix B) into every residual block, which is GroupNorm,
            swish, conv, GroupNorm scaled and shifted by it, swish, zero-initialised conv.
        norm_groups: ``"film"`` blocks: GroupNorm groups (at most the block's channels).
        condition_in_noise_embedding: ``"film"`` blocks with a class or text condition only:
            also add a zero-initialised projection of the condition vector to the noise-level
            embedding that scales and shifts every block (``condition_to_noise``), as ADM adds
            the class embedding to the timestep embedding (Dhariwal and Nichol 2021, Sec. 3;
            ``emb = time_embed(t) + label_emb(y)``). The condition then modulates every block's
            features multiplicatively, not only by a bias; the network starts as without it.
        condition_adapter_rank: int >= 0; ``"film"`` blocks with a class or text condition only:
            beside each block's first conv, a bottleneck adapter of that many channels whose
            features the condition scales and shifts: 3x3 conv down, `models.layers.ScaleShift`
            by the condition vector, swish, zero-initialised 1x1 conv up, added to the conv's
            output. A residual adapter (Houlsby et al., "Parameter-Efficient Transfer Learning
            for NLP", ICML 2019) made condition-dependent, so that with a frozen pretrained
            network (``freeze_init_from``) the condition path has capacity of its own; the
            network starts as without it. 0: none.
        self_conditioning: True to also take ``previous_images`` float32 ``(batch, *input_shape)``,
            the network's own x0 estimate from the step before (standardised; zeros at the first
            step and in half of the training steps), through a zero-initialised patch convolution
            (``self_condition_stem``) added to the stem's features: self-conditioning (Chen, Zhang
            and Hinton, "Analog Bits", ICLR 2023, Sec. 3; `models.self_conditioning`). A network
            initialised from one without it starts as that network.
        dropout: float in [0, 1); ``"film"`` blocks only: the rate of a dropout layer before each
            block's last conv (Ho et al. 2020, appendix B, used 0.1 on CIFAR-10; Srivastava et al.,
            "Dropout", JMLR 2014), active in training only. It has no weights, so a network
            ``init_from`` one without it starts from the same weights. 0: none.
    Returns:
        A functional ``keras.Model`` taking ``[noisy_images (batch, *input_shape),
        noise_variances (batch, 1, 1, 1)]`` (plus ``class_labels`` when ``num_classes``,
        ``context_tokens, context_mask`` with ``context_shape``, or ``known_images, known_mask``
        with ``known_inputs``), then ``previous_images`` with ``self_conditioning``, and returning
        predicted noises of shape ``(batch, *input_shape)``.
    Raises:
        ValueError: if the input size does not divide, or an argument is out of range.
    """
    height, width, channels = input_shape
    _check_arguments(input_shape, widths, block_depth, attention_levels, patch_size, num_classes, context_shape, block_type,
                     frequency_mixing_levels, frequency_attention_levels)
    if known_inputs and (num_classes is not None or context_shape is not None):
        raise ValueError(f"known_inputs takes no class or text condition besides. Received: num_classes={num_classes}, "
                         f"context_shape={context_shape}")
    for option, value in (("condition_in_noise_embedding", condition_in_noise_embedding),
                          ("condition_adapter_rank", condition_adapter_rank)):
        if value and (block_type != "film" or (num_classes is None and context_shape is None)):
            raise ValueError(f"{option} needs block_type 'film' and a class or text condition. Received: "
                             f"block_type={block_type!r}, num_classes={num_classes}, context_shape={context_shape}")
    if isinstance(condition_adapter_rank, bool) or not (isinstance(condition_adapter_rank, int) and condition_adapter_rank >= 0):
        raise ValueError(f"condition_adapter_rank must be an int >= 0. Received: condition_adapter_rank={condition_adapter_rank!r}")
    check_dropout(dropout, block_type)
    noisy_images = keras.Input(shape=(height, width, channels), name="noisy_images")
    noise_variances = keras.Input(shape=(1, 1, 1), name="noise_variances")

    # (batch, height/p, width/p, widths[0])
    x = layers.Conv2D(widths[0], patch_size, strides=patch_size, name="patch_stem")(noisy_images)
    e = SinusoidalEmbedding(embedding_dims, embedding_max_frequency, name="noise_embedding")(noise_variances)
    condition_inputs, condition, context = _condition_inputs(num_classes, context_shape, embedding_dims)
    if known_inputs:
        condition_inputs = [keras.Input(shape=(height, width, channels), name=name) for name in ("known_images", "known_mask")]
        known = layers.Concatenate(name="known_concat")(condition_inputs)
        known = layers.Conv2D(widths[0], patch_size, strides=patch_size, kernel_initializer="zeros", name="known_stem")(known)
        x = layers.Add(name="known_add")([x, known])
    self_condition_inputs = []
    if self_conditioning:
        self_condition_inputs = [keras.Input(shape=(height, width, channels), name=SELF_CONDITION_INPUT)]
        # no bias: zeros (the first step, half of training) add nothing
        previous = layers.Conv2D(widths[0], patch_size, strides=patch_size, kernel_initializer="zeros", use_bias=False,
                                 name="self_condition_stem")(self_condition_inputs[0])
        x = layers.Add(name="self_condition_add")([x, previous])
    x, residual_block = _noise_level_path(x, e, block_type, condition, embedding_dims, norm_groups,
                                          condition_in_noise_embedding, condition_adapter_rank, dropout)
    attend = _attention(num_heads, context)
    x = _u_path(x, widths, block_depth, _follow_up(attention_levels, frequency_mixing_levels,
                                                                frequency_attention_levels, num_heads, attend),
                residual_block)
    outputs = _patch_head(x, channels, patch_size, block_type, min(norm_groups, widths[0]))
    return keras.Model([noisy_images, noise_variances, *condition_inputs, *self_condition_inputs], outputs, name=name)


def _follow_up(attention_levels, frequency_mixing_levels, frequency_attention_levels, num_heads, attend):
    """``follow(x, level, block_name)``: what comes after a residual block at ``level``: frequency
    mixing if the level is in ``frequency_mixing_levels``, frequency attention if in
    ``frequency_attention_levels``, then attention if in ``attention_levels``."""

    def follow(x, level, block_name):
        if level in frequency_mixing_levels:
            x = FrequencyMixing(name=f"{block_name}_fmix")(x)
        if level in frequency_attention_levels:
            x = FrequencyAttention(num_heads, name=f"{block_name}_fattn")(x)
        if level in attention_levels:
            x = attend(x, block_name.replace("_res", "_attn"))
        return x

    return follow


def _attention(num_heads, context):
    """``attend(x, level_name)``: self-attention, then gated cross-attention to ``context`` (text networks)."""

    def attend(x, level_name):
        x = SpatialSelfAttention(num_heads, name=f"{level_name}")(x)
        if context is not None:
            x = SpatialCrossAttention(num_heads, name=f"{level_name}_cross")([x, *context])
        return x

    return attend


def _patch_head(x, channels, patch_size, block_type, groups):
    """The zero-initialised transposed convolution back to the input's patches (``film``: after GroupNorm, swish)."""
    if block_type == "film":  # ADM's output: GroupNorm and swish before the last (here transposed) conv
        x = GroupNormalization(groups=groups, name="head_norm")(x)
        x = layers.Activation("swish", name="head_act")(x)
    return layers.Conv2DTranspose(
        channels, patch_size, strides=patch_size, kernel_initializer="zeros", name="patch_head"
    )(x)


def _check_arguments(input_shape, widths, block_depth, attention_levels, patch_size, num_classes, context_shape,
                     block_type, frequency_mixing_levels=(), frequency_attention_levels=()):
    """`build_unet`'s argument checks: ValueError naming the value."""
    height, width, _ = input_shape
    levels = len(widths)
    factor = patch_size * 2 ** (levels - 1)
    if levels < 1 or block_depth < 1 or patch_size < 1:
        raise ValueError(
            f"widths must be non-empty and block_depth, patch_size >= 1. "
            f"Received: widths={widths}, block_depth={block_depth}, patch_size={patch_size}"
        )
    if height % factor or width % factor:
        raise ValueError(
            f"Input height and width must be divisible by patch_size * 2**(len(widths)-1) = {factor}. "
            f"Received: input_shape={tuple(input_shape)}"
        )
    for name, chosen in (("attention_levels", attention_levels), ("frequency_mixing_levels", frequency_mixing_levels),
                         ("frequency_attention_levels", frequency_attention_levels)):
        if any(not 0 <= lvl < levels for lvl in chosen):
            raise ValueError(f"{name} must index widths. Received: {name}={tuple(chosen)}")
    if num_classes is not None and not (isinstance(num_classes, int) and num_classes >= 1):
        raise ValueError(f"num_classes must be None or an int >= 1. Received: num_classes={num_classes!r}")
    if block_type not in BLOCK_TYPES:
        raise ValueError(f"block_type must be one of {BLOCK_TYPES}. Received: block_type={block_type!r}")
    if num_classes is not None and context_shape is not None:
        raise ValueError(f"Give num_classes or context_shape, not both. Received: {num_classes}, {context_shape}")


def _condition_inputs(num_classes, context_shape, embedding_dims):
    """``(inputs, condition, context)``: the class or text inputs, the vector every block takes
    (class embedding or the tokens' masked mean; None unconditional) and the
    ``(tokens, mask)`` cross-attention attends to (None without text)."""
    if num_classes is not None:
        class_labels = keras.Input(shape=(1,), dtype="int32", name="class_labels")
        c = layers.Embedding(num_classes + 1, embedding_dims, name="class_embedding")(class_labels)
        return [class_labels], layers.Reshape((embedding_dims,), name="class_reshape")(c), None
    if context_shape is not None:
        tokens, context_dims = (int(v) for v in context_shape)
        context = keras.Input(shape=(tokens, context_dims), name="context_tokens")
        context_mask = keras.Input(shape=(tokens,), name="context_mask")
        condition = MaskedMean(name="context_mean")([context, context_mask])
        return [context, context_mask], condition, (context, context_mask)
    return [], None, None


def _noise_level_path(x, e, block_type, condition, embedding_dims, norm_groups, condition_in_noise_embedding=False,
                      adapter_rank=0, dropout=0.0):
    """How the noise embedding ``e`` (batch, 1, 1, embedding_dims) enters the network, and the residual block
    that goes with it: ``(stem features, residual_block(width, name))``. ``concat``: broadcast and
    concatenated to the stem's features once; ``film``: a two-layer MLP whose output every block takes
    (plus the condition's zero-initialised projection with ``condition_in_noise_embedding``; ``adapter_rank``
    and ``dropout``: `_film_residual_block`'s)."""
    if block_type == "concat":
        e = layers.UpSampling2D(size=tuple(x.shape[1:3]), name="embedding_broadcast")(e)
        x = layers.Concatenate(name="stem_concat")([x, e])
        return x, lambda block_width, block_name: _residual_block(block_width, block_name, condition)
    # (batch, 4 * embedding_dims): the noise level for every block
    e = layers.Reshape((embedding_dims,), name="noise_embedding_flat")(e)
    e = layers.Dense(4 * embedding_dims, activation="swish", name="noise_mlp1")(e)
    e = layers.Dense(4 * embedding_dims, name="noise_mlp2")(e)
    if condition_in_noise_embedding:
        projected = layers.Dense(4 * embedding_dims, kernel_initializer="zeros", name="condition_to_noise")(condition)
        e = layers.Add(name="noise_condition_add")([e, projected])
    return x, lambda block_width, block_name: _film_residual_block(block_width, block_name, e, condition, norm_groups,
                                                                   adapter_rank, dropout)


def _u_path(x, widths, block_depth, follow, residual_block):
    """The U: residual blocks (each followed by ``follow``: frequency mixing, attention) down each
    level, at the bottleneck and back up with skips."""
    skips = []
    for level, level_width in enumerate(widths[:-1]):
        for block in range(block_depth):
            x = residual_block(level_width, f"down{level}_res{block}")(x)
            x = follow(x, level, f"down{level}_res{block}")
            skips.append(x)
        x = layers.AveragePooling2D(2, name=f"down{level}_pool")(x)

    bottom = len(widths) - 1
    for block in range(block_depth):
        x = residual_block(widths[-1], f"mid_res{block}")(x)
        x = follow(x, bottom, f"mid_res{block}")

    for level in reversed(range(len(widths) - 1)):
        x = layers.UpSampling2D(2, interpolation="bilinear", name=f"up{level}_upsample")(x)
        for block in range(block_depth):
            x = layers.Concatenate(name=f"up{level}_skip{block}")([x, skips.pop()])
            x = residual_block(widths[level], f"up{level}_res{block}")(x)
            x = follow(x, level, f"up{level}_res{block}")
    return x
