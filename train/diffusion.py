"""Train the U-Net DDIM on preprocessed spectrograms.

Usage:
    python -m train.diffusion --config configs/chorales_ddim.yaml [--set key=value ...]

Reads the dataset written by ``python -m preprocessing.run`` (``data_dir``),
trains under the configured ``tf.distribute`` strategy, and writes into
``run_dir``: ``network.keras`` + ``diffusion.json`` (the EMA network and its
settings, what sampling needs), ``config.yaml``, ``transform.json``,
``normalisation.json``, ``history.csv`` and ``summary.json``. Killed and started
again with the same command, it resumes from its last finished epoch.
Exit status: 0 on success, 2 for bad configuration or data.
"""

import sys
import time

import keras

from common.cli import config_from_args, config_parser, exit_status
from common.errors import ParameterError
from models.ddim import DiffusionModel, save_sampler
from models.noise_schedule import build_schedule
from models.unet import build_unet
from train.callbacks import tensorboard_callbacks
from train.config import DiffusionTrainConfig
from train.data import SpectrogramData
from train.run_folder import fit_resumable, prepare_run_dir, write_summary
from train.options import compile_arguments, float32_outputs, optimizer_arguments, precision_policy
from train.strategy import get_strategy


def schedule_from_config(config):
    """The noise schedule named by ``config.schedule`` (`models.noise_schedule.build_schedule`).

    ``min_signal_rate`` and ``max_signal_rate`` configure ``offset_cosine``; the
    ``linear`` and ``cosine`` schedules take their papers' constants.
    """
    if config.schedule == "offset_cosine":
        return build_schedule(config.schedule, min_signal_rate=config.min_signal_rate, max_signal_rate=config.max_signal_rate)
    return build_schedule(config.schedule)


def build_model(config, data_shape, data_mean, data_std):
    """The compiled `DiffusionModel` for ``config`` (call inside a strategy scope and `precision_policy`).

    The optimizer is AdamW with the schedule and clipping of `train.options.optimizer_arguments`.
    Under a mixed policy the network's output is cast to float32 (`float32_outputs`);
    the loss is not scaled (``auto_scale_loss=False``): `DiffusionModel.train_step` does
    not call ``optimizer.scale_loss``, so ``mixed_float16`` trains without loss scaling.
    """
    try:
        network = build_unet(
            data_shape,
            widths=config.widths,
            block_depth=config.block_depth,
            attention_levels=config.attention_levels,
            patch_size=config.patch_size,
            embedding_dims=config.embedding_dims,
            num_heads=config.num_heads,
        )
    except ValueError as err:
        raise ParameterError(str(err)) from err
    model = DiffusionModel(
        float32_outputs(network),
        schedule_from_config(config),
        data_mean=data_mean,
        data_std=data_std,
        ema_momentum=config.ema_momentum,
        loss_type=config.loss_type,
        clip_range=(0.0, 1.0),
        prediction=config.prediction,
        min_snr_gamma=config.min_snr_gamma,
        spectral_norm_weight=config.spectral_norm_weight,
        time_derivative_weight=config.time_derivative_weight,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(weight_decay=config.weight_decay, **optimizer_arguments(config)),
        auto_scale_loss=False,
        **compile_arguments(config),
    )
    # built now, so that BackupAndRestore restores the optimizer's state too on resume
    model.optimizer.build(model.network.trainable_variables)
    return model


def train(config):
    """Run one training; returns the summary dict written to ``summary.json``."""
    keras.utils.set_random_seed(config.seed)
    data = SpectrogramData(config.data_dir)
    data_shape = data.clip_shape(config.random_time_crop)
    data_mean, data_std = data.moments("train", seed=config.seed)
    run_dir = prepare_run_dir(config.run_dir, config, data)
    crop = config.random_time_crop
    train_ds = data.dataset("train", config.batch_size, seed=config.seed, shuffle_buffer=config.shuffle_buffer, crop_frames=crop)
    val_ds = None
    if config.validation_batches and data.paths("validation"):
        val_ds = data.dataset("validation", config.batch_size, shuffle=False, repeat=True, crop_frames=crop)

    strategy = get_strategy(config.strategy)
    with strategy.scope(), precision_policy(config):
        model = build_model(config, data_shape, data_mean, data_std)
    print(
        f"Training DDIM: {model.network.count_params():,} parameters, data {data_shape}, "
        f"{len(data.paths('train'))} training clips, {strategy.num_replicas_in_sync} replica(s).",
        flush=True,
    )
    history, seconds = fit_resumable(
        model, train_ds, val_ds, config, run_dir, extra_callbacks=tensorboard_callbacks(config, run_dir, samples=True)
    )
    save_sampler(model, run_dir)

    start = time.monotonic()
    model.generate(num_images=1, diffusion_steps=config.sampling_steps)
    sampling_s = time.monotonic() - start
    summary = {
        "model": "ddim",
        "parameters": int(model.network.count_params()),
        "data_shape": list(data_shape),
        "training_clips": len(data.paths("train")),
        "optimizer_steps": int(model.optimizer.iterations.numpy()),
        "epochs_this_run": len(history.epoch),
        "train_seconds_this_run": round(seconds, 1),
        "final_metrics": {k: float(v[-1]) for k, v in history.history.items()},
        "data_mean": data_mean,
        "data_std": data_std,
        "sampling_seconds_one_clip": round(sampling_s, 3),
        "sampling_steps": config.sampling_steps,
    }
    write_summary(run_dir, summary)
    print(f"Saved the model to {run_dir}/ ({summary['optimizer_steps']} steps, {seconds / 60:.1f} min).", flush=True)
    return summary


def main(argv=None):
    """CLI entry point; returns the exit status (0 success, 2 bad configuration or data)."""
    args = config_parser("python -m train.diffusion", __doc__.split("\n\n")[0]).parse_args(argv)
    return exit_status(lambda: train(config_from_args(DiffusionTrainConfig, args)))


if __name__ == "__main__":
    sys.exit(main())
