"""Train the convolutional autoencoder baseline on preprocessed spectrograms.

Usage:
    python -m train.autoencoder --config configs/chorales_autoencoder.yaml [--set key=value ...]

Writes into ``run_dir``: ``autoencoder.keras`` (encoder and decoder inside, no
optimizer; with ``variational: true``, ``vae_encoder.keras`` and
``vae_decoder.keras`` instead), ``config.yaml``, ``transform.json``, ``normalisation.json``,
``history.csv``, ``summary.json`` and ``checkpoints/``. Killed and started again
with the same command, it resumes from its last checkpoint (`train.loop`).
Exit status: 0 on success, 2 for bad configuration or data.
"""

import sys

import keras
import numpy as np

from common.cli import config_from_args, config_parser, exit_status
from common.errors import ParameterError
from models.autoencoder import build_autoencoder
from models.vae import VariationalAutoencoder, build_vae_parts
from train.callbacks import tensorboard_callbacks
from train.config import AutoencoderTrainConfig
from train.data import SpectrogramData
from train.loop import fit_on_data
from train.run_folder import RunFolder
from train.options import compile_arguments, optimizer_arguments, precision_policy
from train.strategy import get_strategy


def reconstruction_pair(clip, seeds):
    """A training element of the autoencoder: ``(clip, clip)``, input and target (``seeds`` unused)."""
    return clip, clip


def build_model(config, data_shape):
    """The compiled autoencoder for ``config`` (call inside a strategy scope and `precision_policy`).

    Args:
        config: an `AutoencoderTrainConfig`.
        data_shape: ``(n_freq_bins, n_frames, 1)``.
    Returns:
        A ``keras.Model`` compiled with Adam (schedule and clipping of
        `train.options.optimizer_arguments`), its optimizer built: the autoencoder with
        MSE, or (``config.variational``) a `models.vae.VariationalAutoencoder`. Under
        ``mixed_float16`` the optimizer is a ``LossScaleOptimizer``, whose scale Keras's
        ``train_step`` and the VAE's own apply.
    Raises:
        ParameterError: if the convolutions do not fit ``data_shape``.
    """
    layer_args = (data_shape, config.conv_filters, config.conv_kernels, config.conv_strides, config.latent_dim)
    bottleneck = dict(bottleneck=config.bottleneck, latent_channels=config.latent_channels)
    try:
        if config.variational:
            autoencoder = VariationalAutoencoder(*build_vae_parts(*layer_args, **bottleneck), beta=config.beta)
        else:
            autoencoder, _, _ = build_autoencoder(*layer_args, **bottleneck)
    except ValueError as err:
        raise ParameterError(str(err)) from err
    # the VAE brings its own objective (models.vae); the autoencoder is trained with MSE
    autoencoder.compile(
        optimizer=keras.optimizers.Adam(**optimizer_arguments(config)),
        loss=None if config.variational else "mse",
        **compile_arguments(config),
    )
    # built now, so that BackupAndRestore restores the optimizer's state too on resume
    autoencoder.optimizer.build(autoencoder.trainable_variables)
    return autoencoder


def train(config):
    """Run one training; returns the summary dict written to ``summary.json``."""
    # first: MultiWorkerMirroredStrategy must be made before TensorFlow's context starts
    strategy, chief = get_strategy(config.strategy, config.worker_timeout_s)
    keras.utils.set_random_seed(config.seed)
    data = SpectrogramData(config.data_dir)
    data_shape = data.clip_shape(config.random_time_crop)
    run = RunFolder(config.run_dir).prepare(config, data, chief=chief)
    with strategy.scope(), precision_policy(config):
        autoencoder = build_model(config, data_shape)
    print(
        f"Training autoencoder: {autoencoder.count_params():,} parameters, data {data_shape}, "
        f"{len(data.paths('train'))} training clips, {strategy.num_replicas_in_sync} replica(s).",
        flush=True,
    )
    chief_callbacks = tensorboard_callbacks(config, run) if chief else []
    history, seconds, start_step = fit_on_data(
        autoencoder, strategy, data, config, run, reconstruction_pair, chief=chief, chief_callbacks=chief_callbacks
    )
    if not chief:
        return {"optimizer_steps": int(autoencoder.optimizer.iterations.numpy())}
    if config.variational:
        run.write_vae(autoencoder.encoder, autoencoder.decoder)
    else:
        run.write_autoencoder(autoencoder)

    test_clips = data.load_split("test", limit=64)[:, :, : data_shape[1]]  # the first frames when cropping
    # direct calls, not predict(): under a multi-worker strategy only the chief gets here
    reconstructions = [keras.ops.convert_to_numpy(autoencoder(test_clips[i : i + 16], training=False)) for i in range(0, len(test_clips), 16)]
    test_mse = float(np.mean((np.concatenate(reconstructions) - test_clips) ** 2)) if len(test_clips) else None
    summary = {
        "model": "vae" if config.variational else "autoencoder",
        "parameters": int(autoencoder.count_params()),
        "data_shape": list(data_shape),
        "training_clips": len(data.paths("train")),
        "optimizer_steps": int(autoencoder.optimizer.iterations.numpy()),
        "epochs_this_run": len(history.epoch),
        "resumed_from_step": start_step,
        "train_seconds_this_run": round(seconds, 1),
        "final_metrics": {k: float(v[-1]) for k, v in history.history.items()},
        "test_mse_normalised": test_mse,
    }
    run.write_summary(summary)
    print(f"Saved the model to {run.path}/ (test MSE {test_mse}).", flush=True)
    return summary


def main(argv=None):
    """CLI entry point; returns the exit status (0 success, 2 bad configuration or data)."""
    args = config_parser("python -m train.autoencoder", __doc__.split("\n\n")[0]).parse_args(argv)
    return exit_status(lambda: train(config_from_args(AutoencoderTrainConfig, args)))


if __name__ == "__main__":
    sys.exit(main())
