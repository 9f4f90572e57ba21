"""Convolutional autoencoder baseline with a dense bottleneck (the original design).

Encoder: ``Conv2D -> ReLU -> BatchNorm`` per layer, flatten, dense latent.
Decoder: dense, reshape, mirrored ``Conv2DTranspose -> ReLU -> BatchNorm``
layers, a final ``Conv2DTranspose`` to one channel and a sigmoid, because the
input spectrograms are min-max normalised to [0, 1]. Trained with MSE.
"""

import numpy as np
import keras
from keras import layers


def build_autoencoder(
    input_shape,
    conv_filters=(16, 32, 64, 64, 32),
    conv_kernels=(3, 3, 3, 3, 3),
    conv_strides=(2, 2, 2, 2, 2),
    latent_dim=128,
    name="autoencoder",
):
    """Build the encoder, decoder and the autoencoder that chains them.

    Args:
        input_shape: ``(n_freq_bins, n_frames, 1)``, e.g. ``(512, 192, 1)``; each spatial
            size must be divisible by the product of ``conv_strides``.
        conv_filters: channels of each encoder convolution (the decoder mirrors them).
        conv_kernels: kernel size of each convolution.
        conv_strides: stride of each convolution (1 or 2 typically).
        latent_dim: size of the dense bottleneck vector.
        name: name of the chained model.
    Returns:
        ``(autoencoder, encoder, decoder)``: functional ``keras.Model`` objects.
        ``encoder``: ``(batch, *input_shape)`` -> ``(batch, latent_dim)``;
        ``decoder``: ``(batch, latent_dim)`` -> ``(batch, *input_shape)`` in [0, 1];
        ``autoencoder``: ``(batch, *input_shape)`` -> ``(batch, *input_shape)``.
    Raises:
        ValueError: if the lists differ in length or the input does not divide.
    """
    check_layers(input_shape, conv_filters, conv_kernels, conv_strides)

    encoder_input = keras.Input(shape=tuple(input_shape), name="encoder_input")
    x = encoder_convolutions(encoder_input, conv_filters, conv_kernels, conv_strides)
    shape_before_bottleneck = tuple(x.shape[1:])  # (height / total_stride, width / total_stride, filters)
    x = layers.Flatten(name="encoder_flatten")(x)
    latent = layers.Dense(latent_dim, name="encoder_latent")(x)
    encoder = keras.Model(encoder_input, latent, name="encoder")
    decoder = build_decoder(input_shape, shape_before_bottleneck, conv_filters, conv_kernels, conv_strides, latent_dim)
    autoencoder = keras.Model(encoder_input, decoder(encoder(encoder_input)), name=name)
    return autoencoder, encoder, decoder


def check_layers(input_shape, conv_filters, conv_kernels, conv_strides):
    """Raise ValueError unless the three lists are non-empty, of equal length, and the strides divide the input."""
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


def build_decoder(input_shape, shape_before_bottleneck, conv_filters, conv_kernels, conv_strides, latent_dim):
    """The decoder: ``(batch, latent_dim)`` -> ``(batch, *input_shape)`` in [0, 1] (sigmoid), mirroring the encoder."""
    decoder_input = keras.Input(shape=(latent_dim,), name="decoder_input")
    x = layers.Dense(int(np.prod(shape_before_bottleneck)), name="decoder_dense")(decoder_input)
    x = layers.Reshape(shape_before_bottleneck, name="decoder_reshape")(x)
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
