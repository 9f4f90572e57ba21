"""Variational autoencoder: the autoencoder baseline made generative by sampling its latent.

Source: D. P. Kingma and M. Welling, "Auto-Encoding Variational Bayes", ICLR
2014; the beta-weighted objective of I. Higgins et al., "beta-VAE", ICLR 2017,
eq. 4. The encoder gives a diagonal Gaussian q(z|x) = N(mu, diag(exp(log_var)));
z = mu + exp(log_var / 2) * eps with eps ~ N(0, I) (the reparameterisation,
Kingma and Welling eq. 10); the loss per clip is

    sum over bins (x - x_hat)^2  +  beta * KL(q(z|x) || N(0, I)),
    KL = -1/2 * sum_j (1 + log_var_j - mu_j^2 - exp(log_var_j))     (Kingma and Welling, appendix B),

averaged over the batch. New spectrograms are ``decoder(z)`` with z ~ N(0, I).
The convolution stacks and the two bottlenecks are the autoencoder's
(`models.autoencoder`): a dense latent vector, or spatial latent maps (the
"KL-regularised" autoencoder of latent diffusion, Rombach et al., CVPR 2022,
Sec. 3.1, which is trained with a small ``beta``); the KL term then sums over
every latent position and channel.
"""

import keras
import numpy as np
from keras import layers, ops

from common.errors import ParameterError
from models.autoencoder import build_decoder, check_layers, encoder_convolutions


def build_vae_parts(input_shape, conv_filters, conv_kernels, conv_strides, latent_dim, bottleneck="dense",
                    latent_channels=4):
    """The VAE's encoder and decoder as functional models.

    Args:
        input_shape, conv_filters, conv_kernels, conv_strides, latent_dim, bottleneck,
            latent_channels: as `models.autoencoder.build_autoencoder`.
    Returns:
        ``(encoder, decoder)``. ``encoder``: ``(batch, *input_shape)`` -> ``[mu, log_var]``, each
        ``(batch, *latent_shape)`` float32, ``latent_shape`` ``(latent_dim,)`` (dense) or
        ``(height / S, width / S, latent_channels)`` (spatial); ``decoder``:
        ``(batch, *latent_shape)`` -> ``(batch, *input_shape)`` in [0, 1].
    Raises:
        ValueError: as `models.autoencoder.check_layers`.
    """
    check_layers(input_shape, conv_filters, conv_kernels, conv_strides, bottleneck)
    encoder_input = keras.Input(shape=tuple(input_shape), name="encoder_input")
    x = encoder_convolutions(encoder_input, conv_filters, conv_kernels, conv_strides)
    shape_before_bottleneck = tuple(x.shape[1:])
    if bottleneck == "spatial":
        mu = layers.Conv2D(latent_channels, 1, name="encoder_mu")(x)
        log_var = layers.Conv2D(latent_channels, 1, name="encoder_log_var", kernel_initializer="zeros")(x)
    else:
        x = layers.Flatten(name="encoder_flatten")(x)
        mu = layers.Dense(latent_dim, name="encoder_mu")(x)
        log_var = layers.Dense(latent_dim, name="encoder_log_var", kernel_initializer="zeros")(x)
    encoder = keras.Model(encoder_input, [mu, log_var], name="vae_encoder")
    decoder = build_decoder(input_shape, shape_before_bottleneck, conv_filters, conv_kernels, conv_strides,
                            tuple(mu.shape[1:]))
    return encoder, decoder


class VariationalAutoencoder(keras.Model):
    """Trains encoder and decoder on the beta-VAE objective (module docstring).

    Args:
        encoder, decoder: from `build_vae_parts`.
        beta: float >= 0, weight of the KL term (1 = the ELBO with a unit-variance
            Gaussian likelihood up to constants; smaller keeps more detail, larger gives
            a smoother latent space to sample from).
    Raises:
        ParameterError: for a negative or non-finite ``beta``.
    """

    def __init__(self, encoder, decoder, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= float(beta) < float("inf"):
            raise ParameterError(f"beta must be a finite number >= 0. Received: beta={beta!r}")
        self.encoder, self.decoder, self.beta = encoder, decoder, float(beta)
        self.latent_shape = tuple(int(d) for d in decoder.inputs[0].shape[1:])
        self.seed_generator = keras.random.SeedGenerator(0)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("loss", "reconstruction", "kl")}
        self.built = True  # encoder and decoder are built functional models

    @property
    def metrics(self):
        return list(self.trackers.values())

    def call(self, images, training=False):
        """Reconstruction from the posterior mean, ``(batch, *input_shape)`` in [0, 1]."""
        mu, _ = self.encoder(images, training=training)
        return self.decoder(mu, training=training)

    def objective(self, images, training):
        """``(loss, reconstruction, kl)`` scalars of the module docstring's objective on a batch."""
        mu, log_var = self.encoder(images, training=training)
        eps = keras.random.normal(ops.shape(mu), seed=self.seed_generator)
        reconstruction = self.decoder(mu + ops.exp(0.5 * log_var) * eps, training=training)
        squared = ops.sum(ops.square(images - reconstruction), axis=tuple(range(1, len(images.shape))))
        kl = -0.5 * ops.sum(1.0 + log_var - ops.square(mu) - ops.exp(log_var), axis=tuple(range(1, len(mu.shape))))
        reconstruction_loss, kl_loss = ops.mean(squared), ops.mean(kl)
        return reconstruction_loss + self.beta * kl_loss, reconstruction_loss, kl_loss

    def _update(self, losses):
        for tracker, value in zip(self.trackers.values(), losses):
            tracker.update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, data):
        """One optimisation step on a batch ``(batch, *input_shape)`` in [0, 1] (or ``(x, x)`` pairs)."""
        import tensorflow as tf

        images = data[0] if isinstance(data, tuple) else data
        with tf.GradientTape() as tape:
            losses = self.objective(images, training=True)
            # the optimizer sums the replicas' gradients; the loss scale is mixed_float16's
            scaled_loss = self.optimizer.scale_loss(losses[0] / tf.distribute.get_strategy().num_replicas_in_sync)
        gradients = tape.gradient(scaled_loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.trainable_weights))
        return self._update(losses)

    def test_step(self, data):
        images = data[0] if isinstance(data, tuple) else data
        return self._update(self.objective(images, training=False))


def sample_latents(seeds, latent_shape):
    """One standard-normal latent per seed, ``(len(seeds), *latent_shape)`` float32 (sample i depends on seeds[i] only).

    ``latent_shape``: an int (a latent vector) or a shape tuple (spatial latent maps).
    """
    return np.stack([np.random.default_rng(int(s)).standard_normal(latent_shape).astype("float32") for s in seeds])
