"""Custom layers of the U-Net, serializable without ``Lambda`` (safe_mode loads them)."""

import math

import keras
from keras import layers, ops

from models.group_norm import GroupNormalization


@keras.saving.register_keras_serializable(package="musicgen")
class SinusoidalEmbedding(layers.Layer):
    """Sinusoidal embedding of the noise level.

    ``emb(x) = [sin(2 pi f_k x), cos(2 pi f_k x)]`` for ``embedding_dims / 2``
    frequencies ``f_k`` spaced geometrically in ``[1, max_frequency]``
    (Vaswani et al., "Attention Is All You Need", 2017, section 3.5, as used on
    noise variances in the Keras DDIM example).

    Input: float tensor ``(batch, 1, 1, 1)``, the noise variance ``noise_rates**2`` in [0, 1].
    Output: float tensor ``(batch, 1, 1, embedding_dims)``.
    """

    def __init__(self, embedding_dims=32, max_frequency=1000.0, **kwargs):
        super().__init__(**kwargs)
        if embedding_dims < 2 or embedding_dims % 2:
            raise ValueError(f"embedding_dims must be an even number >= 2. Received: embedding_dims={embedding_dims}")
        self.embedding_dims = int(embedding_dims)
        self.max_frequency = float(max_frequency)

    def call(self, x):
        frequencies = ops.exp(
            ops.linspace(math.log(1.0), math.log(self.max_frequency), self.embedding_dims // 2)
        )
        angular_speeds = ops.cast(2.0 * math.pi * frequencies, x.dtype)
        return ops.concatenate([ops.sin(angular_speeds * x), ops.cos(angular_speeds * x)], axis=-1)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.embedding_dims,)

    def get_config(self):
        config = super().get_config()
        config.update({"embedding_dims": self.embedding_dims, "max_frequency": self.max_frequency})
        return config


class _SpatialAttention(layers.Layer):
    """What self- and cross-attention over a feature map share: GroupNorm, then multi-head
    attention with the ``height * width`` positions of ``x`` as the query tokens."""

    def __init__(self, num_heads=4, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)

    def _build_attention(self, x_shape, value_shape):
        channels = x_shape[-1]
        if channels % self.num_heads:
            raise ValueError(
                f"channels must be divisible by num_heads. Received: channels={channels}, num_heads={self.num_heads}"
            )
        self.norm = GroupNormalization(groups=min(8, channels), epsilon=1e-5, dtype=self.dtype_policy)
        self.norm.build(x_shape)
        self.attention = layers.MultiHeadAttention(self.num_heads, channels // self.num_heads, dtype=self.dtype_policy)
        self.attention.build((x_shape[0], None, channels), tuple(value_shape))

    def _query_tokens(self, x):
        """``GN(x)`` as ``(batch, height * width, channels)`` tokens."""
        shape = ops.shape(x)
        return ops.reshape(self.norm(x), (shape[0], shape[1] * shape[2], shape[3]))

    def get_config(self):
        config = super().get_config()
        config.update({"num_heads": self.num_heads})
        return config


@keras.saving.register_keras_serializable(package="musicgen")
class SpatialSelfAttention(_SpatialAttention):
    """Residual multi-head self-attention over all positions of a feature map.

    ``y = x + MHA(GN(x))`` with the ``height * width`` positions as tokens
    (Vaswani et al. 2017; placement at low resolutions as in Ho et al.,
    "Denoising Diffusion Probabilistic Models", NeurIPS 2020, appendix B).

    Input/output: float tensor ``(batch, height, width, channels)``; static height and width.
    """

    def build(self, input_shape):
        self._build_attention(input_shape, (input_shape[0], None, input_shape[-1]))

    def call(self, x):
        tokens = self._query_tokens(x)
        return x + ops.reshape(self.attention(tokens, tokens), ops.shape(x))


@keras.saving.register_keras_serializable(package="musicgen")
class SpatialCrossAttention(_SpatialAttention):
    """Gated residual cross-attention from every position of a feature map to a token sequence.

    ``y = x + tanh(g) * MHA(query=GN(x), value=context, value_mask=mask)``: the text
    conditioning of latent diffusion (Rombach et al., "High-Resolution Image Synthesis
    with Latent Diffusion Models", CVPR 2022, Sec. 3.3, cross-attention in the U-Net),
    with the scalar gate ``g`` initialised at 0 (Alayrac et al., "Flamingo", NeurIPS
    2022, eq. 1) so that the layer starts as the identity and a trained unconditional
    network can be fine-tuned into a text-conditional one.

    Inputs: ``[x (batch, height, width, channels), context (batch, tokens, context_dims),
    mask (batch, tokens)]`` with the mask 1 (or True) for real tokens (at least one per row).
    Output: ``(batch, height, width, channels)``.
    """

    def build(self, input_shape):
        x_shape, context_shape, _ = input_shape
        self._build_attention(x_shape, context_shape)
        self.gate = self.add_weight(shape=(), initializer="zeros", name="gate")

    def call(self, inputs):
        x, context, mask = inputs
        attended = self.attention(self._query_tokens(x), context, value_mask=ops.cast(mask, "bool"))
        return x + ops.tanh(self.gate) * ops.reshape(attended, ops.shape(x))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])


@keras.saving.register_keras_serializable(package="musicgen")
class MaskedMean(layers.Layer):
    """Mean of a token sequence over its real tokens: ``sum_t m_t e_t / sum_t m_t``.

    Inputs: ``[tokens (batch, tokens, dims), mask (batch, tokens)]``; output ``(batch, dims)``.
    """

    def call(self, inputs):
        tokens, mask = inputs
        weights = ops.expand_dims(ops.cast(mask, tokens.dtype), -1)
        return ops.sum(tokens * weights, axis=1) / ops.maximum(ops.sum(weights, axis=1), 1.0)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], input_shape[0][-1])


@keras.saving.register_keras_serializable(package="musicgen")
class ConditionBias(layers.Layer):
    """Add a learned projection of a condition vector to every position of a feature map.

    ``y = x + W c + b`` broadcast over height and width: how DDPM's residual blocks take
    the timestep embedding (Ho et al. 2020, appendix B; Dhariwal and Nichol 2021 do the
    same with class embeddings). ``W`` and ``b`` start at zero, so the layer starts as
    the identity (a trained unconditional network keeps its output when it is added).

    Inputs: ``[x (batch, height, width, channels), condition (batch, dims)]``; output like ``x``.
    """

    def build(self, input_shape):
        x_shape, condition_shape = input_shape
        self.projection = layers.Dense(x_shape[-1], kernel_initializer="zeros", name="projection", dtype=self.dtype_policy)
        self.projection.build(tuple(condition_shape))

    def call(self, inputs):
        x, condition = inputs
        return x + ops.cast(self.projection(condition), x.dtype)[:, None, None, :]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])


@keras.saving.register_keras_serializable(package="musicgen")
class ScaleShift(layers.Layer):
    """Scale and shift a feature map by a learned projection of a condition vector (FiLM).

    ``(scale, shift) = W c + b`` and ``y = x * (1 + scale) + shift`` broadcast over height
    and width: feature-wise linear modulation (Perez et al., "FiLM", AAAI 2018), the
    "adaptive group normalisation" by which the ADM U-Net's residual blocks take the
    noise-level embedding after their second GroupNorm (Dhariwal and Nichol, "Diffusion
    Models Beat GANs on Image Synthesis", NeurIPS 2021, Sec. 3: AdaGN(h, y) = y_s GN(h) + y_b,
    here with y_s = 1 + scale). ``W`` and ``b`` start at zero, so the layer starts as the identity.

    Inputs: ``[x (batch, height, width, channels), condition (batch, dims)]``; output like ``x``.
    """

    def build(self, input_shape):
        x_shape, condition_shape = input_shape
        self.projection = layers.Dense(2 * x_shape[-1], kernel_initializer="zeros", name="projection", dtype=self.dtype_policy)
        self.projection.build(tuple(condition_shape))

    def call(self, inputs):
        x, condition = inputs
        scale, shift = ops.split(ops.cast(self.projection(condition), x.dtype)[:, None, None, :], 2, axis=-1)
        return x * (1.0 + scale) + shift

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])


@keras.saving.register_keras_serializable(package="musicgen")
class FrequencyMixing(layers.Layer):
    """Mix every frame's features across the whole frequency axis with a learned matrix.

    ``y = x + P(M GN(x)) + b``, where GN is GroupNorm, ``M`` a learned ``(height, height)``
    matrix applied along the frequency (height) axis at every frame and channel, and ``P`` a
    1x1 projection over channels. The frequency-wise fully connected layer of the frequency
    transformation block (Yin et al., "PHASEN: A Phase-and-Harmonics-Aware Speech Enhancement
    Network", AAAI 2020, Sec. 3.2): on a linear-frequency spectrogram a note's partials lie
    a whole multiple of its fundamental apart, farther than a convolution's reach, and one
    matrix over the frequency axis links them at any distance. ``M`` starts as the identity
    and ``P``, ``b`` at zero, so the layer starts as the identity (a trained network keeps
    its output when it is added, as `ConditionBias` does).

    Input: float ``(batch, height, width, channels)``, height = frequency bins (or pitches)
    at this level, known when the layer is built; output like the input.
    """

    def build(self, input_shape):
        height, channels = input_shape[1], input_shape[-1]
        if height is None:
            raise ValueError(f"FrequencyMixing needs a known height. Received: input_shape={tuple(input_shape)}")
        self.norm = GroupNormalization(groups=min(8, channels), epsilon=1e-5, name="norm", dtype=self.dtype_policy)
        self.norm.build(tuple(input_shape))
        self.mixing = self.add_weight(
            shape=(height, height), initializer=keras.initializers.Identity(), name="mixing"
        )
        self.projection = layers.Dense(channels, kernel_initializer="zeros", name="projection", dtype=self.dtype_policy)
        self.projection.build(tuple(input_shape))

    def call(self, x):
        # M @ (batch, height, width * channels): one broadcast matrix product with no transposes.
        # The einsum "gf,bftc->bgtc" computes the same but moved the frequency axis to the front
        # and back (shipped DDIM, batch 4, 2-core CPU: 12 % of the network's time).
        shape = ops.shape(x)
        h = ops.reshape(self.norm(x), (-1, shape[1], shape[2] * shape[3]))
        h = ops.matmul(ops.cast(self.mixing, x.dtype), h)
        return x + self.projection(ops.reshape(h, shape))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)


@keras.saving.register_keras_serializable(package="musicgen")
class FrequencyAttention(layers.Layer):
    """Gated residual self-attention along the frequency axis, one frame at a time.

    ``y = x + tanh(g) * MHA(GN(x) + p)`` where the tokens of one attention are the ``height``
    positions (frequency bins, or pitches) of one frame, so every frame attends within itself
    only: the frequency half of axial attention (Ho et al., "Axial Attention in
    Multidimensional Transformers", 2019, Sec. 3). ``p`` is a learned ``(height, channels)``
    position embedding (a bin's place on the frequency axis, which convolutions do not see).
    Where `FrequencyMixing` links bins with one matrix for every input, this links them by
    content: which bins are active in this frame (a note's partials, or the pitches already
    sounding in a chord). The scalar gate ``g`` starts at 0 (Alayrac et al., "Flamingo",
    NeurIPS 2022, eq. 1), so the layer starts as the identity and can be added to a trained
    network and fine-tuned.

    Args:
        num_heads: int >= 1, dividing the channels.
    Input: float ``(batch, height, width, channels)``, height known when the layer is built;
    output like the input.
    Raises:
        ValueError: at build, for an unknown height or channels not divisible by ``num_heads``.
    """

    def __init__(self, num_heads=4, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)

    def build(self, input_shape):
        height, channels = input_shape[1], input_shape[-1]
        if height is None:
            raise ValueError(f"FrequencyAttention needs a known height. Received: input_shape={tuple(input_shape)}")
        if channels % self.num_heads:
            raise ValueError(
                f"channels must be divisible by num_heads. Received: channels={channels}, num_heads={self.num_heads}"
            )
        self.norm = GroupNormalization(groups=min(8, channels), epsilon=1e-5, name="norm", dtype=self.dtype_policy)
        self.norm.build(tuple(input_shape))
        self.position = self.add_weight(
            shape=(height, channels), initializer=keras.initializers.RandomNormal(stddev=0.02), name="position"
        )
        self.attention = layers.MultiHeadAttention(self.num_heads, channels // self.num_heads, name="attention", dtype=self.dtype_policy)
        self.attention.build((None, height, channels), (None, height, channels))
        self.gate = self.add_weight(shape=(), initializer="zeros", name="gate")

    def call(self, x):
        shape = ops.shape(x)  # (batch, height, width, channels)
        h = self.norm(x) + ops.cast(self.position, x.dtype)[None, :, None, :]
        tokens = ops.reshape(ops.transpose(h, (0, 2, 1, 3)), (shape[0] * shape[2], shape[1], shape[3]))
        attended = ops.reshape(self.attention(tokens, tokens), (shape[0], shape[2], shape[1], shape[3]))
        return x + ops.tanh(ops.cast(self.gate, x.dtype)) * ops.transpose(attended, (0, 2, 1, 3))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"num_heads": self.num_heads})
        return config
