"""The files a trained first stage (autoencoder or VAE) is saved to and loaded from.

A deterministic autoencoder is one file, ``autoencoder.keras`` (encoder and decoder
inside, layers named ``encoder`` and ``decoder``); a variational one is two,
``vae_encoder.keras`` (spectrogram -> ``(mu, log_var)``) and ``vae_decoder.keras``
(latent -> spectrogram). Like `models.sampler_folder` for the diffusion model, this
module names a first stage's files in a run folder; `train.run_folder.RunFolder`
names the rest of the folder and decides the run's kind through `first_stage_kind`.
Latent encoding (`preprocessing.latents`) loads a first stage with `load_first_stage`.
Every file is saved without an optimizer, atomically, and loads with ``safe_mode``.
"""

from pathlib import Path

import numpy as np

from common.atomic import atomic_path
from common.errors import ParameterError
from common.keras_file import load_keras_model

AUTOENCODER_FILE = "autoencoder.keras"
VAE_ENCODER_FILE = "vae_encoder.keras"
VAE_DECODER_FILE = "vae_decoder.keras"
FIRST_STAGE_KINDS = ("autoencoder", "vae")


def first_stage_kind(folder):
    """``"autoencoder"`` (``autoencoder.keras`` is there), ``"vae"`` (``vae_decoder.keras`` is), or None."""
    folder = Path(folder)
    if (folder / AUTOENCODER_FILE).is_file():
        return "autoencoder"
    if (folder / VAE_DECODER_FILE).is_file():
        return "vae"
    return None


def _save(model, path):
    """Save ``model`` to ``path`` (``.keras``) without its optimizer, atomically."""
    import keras

    # a model rebuilt from its config has no optimizer (clone_model keeps it)
    export = keras.Model.from_config(model.get_config())
    export.set_weights(model.get_weights())
    with atomic_path(path) as tmp:
        export.save(tmp)
    return Path(path)


def save_autoencoder(autoencoder, folder):
    """Write ``<folder>/autoencoder.keras`` (a ``keras.Model`` with ``encoder`` and ``decoder`` layers). Returns its path."""
    return _save(autoencoder, Path(folder) / AUTOENCODER_FILE)


def save_vae(encoder, decoder, folder):
    """Write ``<folder>/vae_encoder.keras`` and ``<folder>/vae_decoder.keras`` (a `models.vae.VariationalAutoencoder`'s parts).

    Returns:
        The two paths, encoder first.
    """
    folder = Path(folder)
    return _save(encoder, folder / VAE_ENCODER_FILE), _save(decoder, folder / VAE_DECODER_FILE)


def load_autoencoder(folder):
    """The whole autoencoder of ``autoencoder.keras``.

    Raises:
        ParameterError: naming the file, if it is missing, unreadable or corrupt.
    """
    return load_keras_model(Path(folder) / AUTOENCODER_FILE, "Autoencoder file")


def load_vae_decoder(folder):
    """The VAE's decoder (latent -> float32 ``(n, n_freq_bins, n_frames, 1)`` in [0, 1]) of ``vae_decoder.keras``.

    Raises:
        ParameterError: naming the file, if it is missing, unreadable or corrupt.
    """
    return load_keras_model(Path(folder) / VAE_DECODER_FILE, "VAE decoder file")


def load_first_stage(folder):
    """The encoder and decoder of a trained spatial autoencoder or VAE, for latent diffusion.

    Args:
        folder: a ``train.autoencoder`` run folder (`first_stage_kind` says which model it holds).
    Returns:
        ``(kind, encode, decoder)``: ``"autoencoder"`` or ``"vae"``; ``encode(batch)`` maps
        float32 ``(n, n_freq_bins, n_frames, 1)`` in [0, 1] to float32 latents
        ``(n, height, width, channels)`` (the VAE's posterior mean); ``decoder`` the
        ``keras.Model`` that maps latents back to ``(n, n_freq_bins, n_frames, 1)`` in [0, 1].
    Raises:
        ParameterError: if the folder holds no such model (a VAE needs both files), a model
            file is unreadable or corrupt (naming it), or its latent is a dense vector
            (latent diffusion needs ``bottleneck: spatial``).
    """
    folder = Path(folder)
    kind = first_stage_kind(folder)
    load = lambda name: load_keras_model(folder / name, "First-stage model file")  # noqa: E731
    if kind == "vae" and (folder / VAE_ENCODER_FILE).is_file():
        encoder, decoder = load(VAE_ENCODER_FILE), load(VAE_DECODER_FILE)
        encode = lambda batch: np.asarray(encoder(batch, training=False)[0])  # noqa: E731
    elif kind == "autoencoder":
        autoencoder = load(AUTOENCODER_FILE)
        encoder, decoder = autoencoder.get_layer("encoder"), autoencoder.get_layer("decoder")
        encode = lambda batch: np.asarray(encoder(batch, training=False))  # noqa: E731
    else:
        raise ParameterError(
            f"Not a trained autoencoder folder ({AUTOENCODER_FILE}, or {VAE_ENCODER_FILE} and {VAE_DECODER_FILE}). "
            f"Received: autoencoder={str(folder)!r}"
        )
    latent_shape = tuple(decoder.inputs[0].shape[1:])
    if len(latent_shape) != 3:
        raise ParameterError(
            "Latent diffusion needs latent maps: train the autoencoder with bottleneck: spatial. "
            f"Received: autoencoder={str(folder)!r} with latent shape {latent_shape}"
        )
    return kind, encode, decoder
