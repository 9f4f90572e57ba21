"""Convolutional autoencoder baseline, with a dense or a spatial bottleneck.

Encoder: ``Conv2D -> ReLU -> BatchNorm`` per layer, then the bottleneck:

* ``dense`` (the original design): flatten, a dense latent vector ``(latent_dim,)``;
* ``spatial``: a 1x1 convolution to ``latent_channels`` maps, a latent
  ``(height / S, width / S, latent_channels)`` for the product S of the strides,
  the autoencoder of latent diffusion (Rombach et al., "High-Resolution Image
  Synthesis with Latent Diffusion Models", CVPR 2022, Sec. 3.1), whose U-Net
  DDIM then works on the latent maps (`preprocessing.latents`).

Decoder: dense and reshape (``dense``) or a 3x3 convolution (``spatial``), mirrored
``Conv2DTranspose -> ReLU -> BatchNorm`` layers, a final ``Conv2DTranspose`` to one
channel and a sigmoid, because the input spectrograms are min-max normalised to
[0, 1]. Trained with MSE.
"""

import numpy as np
import keras
from keras import layers


BOTTLENECKS = ("dense", "spatial")


def build_autoencoder(
    input_shape,
    conv_filters=(16, 32, 64, 64, 32),
    conv_kernels=(3, 3, 3, 3, 3),
    conv_strides=(2, 2, 2, 2, 2),
    latent_dim=128,
    name="autoencoder",
    bottleneck="dense",
    latent_channels=4,
):
    """Build the encoder, decoder and the autoencoder that chains them.

    Args:
        input_shape: ``(n_freq_bins, n_frames, 1)``, e.g. ``(512, 192, 1)``; each spatial
            size must be divisible by the product of ``conv_strides``.
        conv_filters: channels of each encoder convolution (the decoder mirrors them).
        conv_kernels: kernel size of each convolution.
        conv_strides: stride of each convolution (1 or 2 typically).
        latent_dim: size of the dense bottleneck vector (``bottleneck="dense"``).
        name: name of the chained model.
        bottleneck: ``"dense"`` (a latent vector) or ``"spatial"`` (latent maps; module docstring).
        latent_channels: channels of the spatial latent (``bottleneck="spatial"``).
    Returns:
        ``(autoencoder, encoder, decoder)``: functional ``keras.Model`` objects.
        ``encoder``: ``(batch, *input_shape)`` -> ``(batch, *latent_shape)`` float32, where
        ``latent_shape`` is ``(latent_dim,)`` or ``(height / S, width / S, latent_channels)``;
        ``decoder``: ``(batch, *latent_shape)`` -> ``(batch, *input_shape)`` in [0, 1];
        ``autoencoder``: ``(batch, *input_shape)`` -> ``(batch, *input_shape)``.
    Raises:
        ValueError: if the lists differ in length, the input does not divide, or
            ``bottleneck`` is not one of `BOTTLENECKS`.
    """
    check_layers(input_shape, conv_filters, conv_kernels, conv_strides, bottleneck)

    encoder_input = keras.Input(shape=tuple(input_shape), name="encoder_input")
    x = encoder_convolutions(encoder_input, conv_filters, conv_kernels, conv_strides)
    shape_before_bottleneck = tuple(x.shape[1:])  # (height / total_stride, width / total_stride, filters)
    if bottleneck == "spatial":
        latent = layers.Conv2D(latent_channels, 1, name="encoder_latent")(x)
    else:
        latent = layers.Dense(latent_dim, name="encoder_latent")(layers.Flatten(name="encoder_flatten")(x))
    encoder = keras.Model(encoder_input, latent, name="encoder")
    decoder = build_decoder(input_shape, shape_before_bottleneck, conv_filters, conv_kernels, conv_strides,
                            tuple(latent.shape[1:]))
    autoencoder = keras.Model(encoder_input, decoder(encoder(encoder_input)), name=name)
    return autoencoder, encoder, decoder


def check_layers(input_shape, conv_filters, conv_kernels, conv_strides, bottleneck="dense"):
    """Raise ValueError unless the three lists are non-empty, of equal length, the strides divide the
    input, and ``bottleneck`` is one of `BOTTLENECKS`."""
    if bottleneck not in BOTTLENECKS:
        raise ValueError(f"bottleneck must be one of {BOTTLENECKS}. Received: bottleneck={bottleneck!r}")
    if not (len(conv_filters) == len(conv_kernels) == len(conv_strides)) or not conv_filters:
        raise ValueError(
            "conv_filters, conv_kernels and conv_strides must be non-empty and of equal length. "
            f"Received: conv_filters={conv_filters}, conv_kernels={conv_kernels}, conv_strides={conv_strides}"
        )
    total_stride = int(np.prod(conv_strides))
    if input_shape[0] % total_stride or input_shape[1] % total_stride:
        raise ValueError(
            f"Input height and width must be divisible by the product of conv_strides ({total_stride}). "
            f"Received: input_shape={tuple(input_shape)}"
        )


def encoder_convolutions(x, conv_filters, conv_kernels, conv_strides):
    """The encoder's ``Conv2D -> ReLU -> BatchNorm`` stack applied to tensor ``x``; returns its output."""
    for i, (filters, kernel, stride) in enumerate(zip(conv_filters, conv_kernels, conv_strides)):
        x = layers.Conv2D(filters, kernel, strides=stride, padding="same", name=f"encoder_conv{i}")(x)
        x = layers.ReLU(name=f"encoder_relu{i}")(x)
        x = layers.BatchNormalization(name=f"encoder_bn{i}")(x)
    return x


def build_decoder(input_shape, shape_before_bottleneck, conv_filters, conv_kernels, conv_strides, latent_shape):
    """The decoder: ``(batch, *latent_shape)`` -> ``(batch, *input_shape)`` in [0, 1] (sigmoid), mirroring the encoder.

    ``latent_shape``: ``(latent_dim,)`` (an int is taken as that) for a dense bottleneck, or
    ``(height, width, channels)`` maps for a spatial one (then a 3x3 convolution, ReLU and
    BatchNorm bring them to the encoder's last channel count).
    """
    latent_shape = (int(latent_shape),) if np.ndim(latent_shape) == 0 else tuple(latent_shape)
    decoder_input = keras.Input(shape=latent_shape, name="decoder_input")
    if len(latent_shape) == 1:
        x = layers.Dense(int(np.prod(shape_before_bottleneck)), name="decoder_dense")(decoder_input)
        x = layers.Reshape(shape_before_bottleneck, name="decoder_reshape")(x)
    else:
        x = layers.Conv2D(shape_before_bottleneck[-1], 3, padding="same", name="decoder_conv_in")(decoder_input)
        x = layers.ReLU(name="decoder_relu_in")(x)
        x = layers.BatchNormalization(name="decoder_bn_in")(x)
    mirrored = list(zip(conv_filters, conv_kernels, conv_strides))[::-1]
    for i, (kernel, stride) in enumerate((k, s) for _, k, s in mirrored[:-1]):
        filters = mirrored[i + 1][0]
        x = layers.Conv2DTranspose(filters, kernel, strides=stride, padding="same", name=f"decoder_convT{i}")(x)
        x = layers.ReLU(name=f"decoder_relu{i}")(x)
        x = layers.BatchNormalization(name=f"decoder_bn{i}")(x)
    _, kernel, stride = mirrored[-1]
    x = layers.Conv2DTranspose(input_shape[-1], kernel, strides=stride, padding="same", name="decoder_output")(x)
    decoder_output = layers.Activation("sigmoid", name="decoder_sigmoid")(x)
    return keras.Model(decoder_input, decoder_output, name="decoder")
