"""Train the U-Net DDIM on preprocessed spectrograms.

Usage:
    python -m train.diffusion --config configs/chorales_ddim.yaml [--set key=value ...]

Reads the dataset written by ``python -m preprocessing.run`` (``data_dir``),
trains under the configured ``tf.distribute`` strategy (`train.loop`), and writes into
``run_dir``: ``network.keras`` + ``diffusion.json`` (the EMA network and its
settings, what sampling needs), ``config.yaml``, ``transform.json``,
``normalisation.json``, ``history.csv``, ``summary.json`` and ``checkpoints/``.
Given a latent data set (``python -m preprocessing.latents``), the DDIM trains on an
autoencoder's latent maps (latent diffusion, Rombach et al. 2022) and the run also
holds ``latent.json`` and ``latent_decoder.keras``, which generation decodes with.
Killed and started again with the same command, it resumes from its last
checkpoint (every ``checkpoint_every`` steps and every epoch's end) and ends with
the weights of an uninterrupted run.
Exit status: 0 on success, 2 for bad configuration or data.
"""

import sys
import time

import keras
import numpy as np

from common.cli import config_from_args, config_parser, exit_status
from common.errors import ParameterError
from models.diffusion import DiffusionModel
from models.noise_schedule import ShiftedSchedule, build_schedule
from models.sampler_folder import load_sampler
from models.training_draws import conditional_draws, forward_draws, mask_draws
from models.unet import build_unet, start_as_identity
from train.callbacks import tensorboard_callbacks
from train.config import DiffusionTrainConfig
from train.data import SpectrogramData
from train.loop import fit_on_data
from train.run_folder import RunFolder
from train.options import compile_arguments, float32_outputs, optimizer_arguments, precision_policy
from train.strategy import get_strategy


def schedule_from_config(config):
    """The noise schedule named by ``config.schedule`` (`models.noise_schedule.build_schedule`).

    ``min_signal_rate`` and ``max_signal_rate`` configure ``offset_cosine``; the
    ``linear`` and ``cosine`` schedules take their papers' constants. A ``schedule_shift``
    other than 1 wraps the schedule in `models.noise_schedule.ShiftedSchedule`.
    """
    if config.schedule == "offset_cosine":
        schedule = build_schedule(config.schedule, min_signal_rate=config.min_signal_rate,
                                  max_signal_rate=config.max_signal_rate)
    else:
        schedule = build_schedule(config.schedule)
    return schedule if config.schedule_shift == 1.0 else ShiftedSchedule(schedule, config.schedule_shift)


def build_model(config, data_shape, data_mean, data_std, class_names=None, context_shape=None, clip_range=(0.0, 1.0)):
    """The compiled `DiffusionModel` for ``config`` (call inside a strategy scope and `precision_policy`).

    The optimizer is AdamW with the schedule and clipping of `train.options.optimizer_arguments`.
    Under a mixed policy the network's output is cast to float32 (`float32_outputs`);
    under ``mixed_float16`` Keras wraps the optimizer in a ``LossScaleOptimizer``, whose
    scale `DiffusionModel.train_step` applies (dynamic loss scaling). ``clip_range``: the
    data's bounds, which sampling clips to (None for unbounded latents).
    """
    try:
        network = build_unet(
            data_shape,
            widths=config.widths,
            block_type=config.block_type,
            block_depth=config.block_depth,
            attention_levels=config.attention_levels,
            frequency_mixing_levels=config.frequency_mixing_levels,
            frequency_attention_levels=config.frequency_attention_levels,
            patch_size=config.patch_size,
            embedding_dims=config.embedding_dims,
            num_heads=config.num_heads,
            num_classes=len(class_names) if class_names else None,
            context_shape=context_shape,
            known_inputs=config.conditioning == "mask",
            condition_in_noise_embedding=config.condition_in_noise_embedding,
            condition_adapter_rank=config.condition_adapter_rank,
            self_conditioning=config.self_conditioning,
            dropout=config.dropout,
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
        clip_range=clip_range,
        prediction=config.prediction,
        min_snr_gamma=config.min_snr_gamma,
        spectral_norm_weight=config.spectral_norm_weight,
        time_derivative_weight=config.time_derivative_weight,
        class_names=class_names,
        conditioning=config.conditioning,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(weight_decay=config.weight_decay, **optimizer_arguments(config)),
        **compile_arguments(config),
    )
    # built now, so that BackupAndRestore restores the optimizer's state too on resume
    model.optimizer.build(model.network.trainable_variables)
    return model


def text_context_table(captions, max_tokens):
    """The encoded captions and the null prompt: ``(tokens (U + 1, T, 384), mask (U + 1, T))`` float32.

    Row ``i < U`` is ``captions[i]`` through `models.text_encoder.TextEncoder`; row U is the
    "no prompt" of `models.diffusion.DiffusionModel.null_conditions` (zeros, first token marked).
    """
    from models.text_encoder import TextEncoder

    tokens, mask, _ = TextEncoder(max_tokens=max_tokens).encode(list(captions))
    null_mask = np.zeros((1, mask.shape[1]), "float32")
    null_mask[0, 0] = 1.0
    return (np.concatenate([tokens, np.zeros((1,) + tokens.shape[1:], "float32")]).astype("float32"),
            np.concatenate([mask.astype("float32"), null_mask]))


def initialise_from(model, model_dir, freeze=False):
    """Copy the weights of a trained DDIM (`models.sampler_folder.load_sampler` folder) into ``model``'s layers of the same name and shapes.

    Both the network and its EMA copy get them. Layers it lacks (e.g. a new class
    embedding, zero-initialised) keep their initial weights, except those of a deeper
    network's new blocks that would change its output, which `models.unet.start_as_identity`
    sets to pass their input on: a ``"film"`` network with a larger ``block_depth`` starts
    as the one it is initialised from (Net2DeeperNet, Chen et al. 2016). With ``freeze`` the copied
    layers are made non-trainable (config key ``freeze_init_from``), so only the others train.

    Returns:
        The number of layers copied.
    Raises:
        ParameterError: if ``model_dir`` is not a trained DDIM folder, or no layer matches.
    """
    source = load_sampler(model_dir).network
    copied, new = 0, set()
    for layer in model.network.layers:
        try:
            weights = source.get_layer(layer.name).get_weights()
        except ValueError:
            new.add(layer.name)
            continue
        if weights and [w.shape for w in weights] == [tuple(v.shape) for v in layer.weights]:
            layer.set_weights(weights)
            model.ema_network.get_layer(layer.name).set_weights(weights)
            if freeze:
                layer.trainable = False
            copied += 1
    if not copied:
        raise ParameterError(f"No layer of the model matches one of init_from's. Received: init_from={str(model_dir)!r}")
    # layers the source lacks (a deeper network's new blocks) start by passing their input on
    passed = start_as_identity(model.network, new)
    start_as_identity(model.ema_network, new)
    trainable = sum(int(np.prod(v.shape)) for v in model.network.trainable_weights)
    print(f"Initialised {copied} layers from {model_dir}{' (kept fixed)' if freeze else ''}"
          f"{f'; {len(passed)} new layers set to pass their input on' if passed else ''}; {trainable:,} trainable "
          f"parameters.", flush=True)
    return copied


def train(config):
    """Run one training; returns the summary dict written to ``summary.json``."""
    # first: MultiWorkerMirroredStrategy must be made before TensorFlow's context starts
    strategy, chief = get_strategy(config.strategy, config.worker_timeout_s)
    keras.utils.set_random_seed(config.seed)
    data = SpectrogramData(config.data_dir)
    data_shape = data.clip_shape(config.random_time_crop)
    data_mean, data_std = data.moments("train", seed=config.seed)
    class_names, captions = None, None
    if config.conditioning in ("label", "text"):
        column = "label" if config.conditioning == "label" else "caption"
        values = data.class_names("train", column)
        if not values:
            raise ParameterError(
                f"conditioning: {config.conditioning} needs {column}s in the data set's manifest (preprocessing keys "
                f"`label`, `captions_file`). Received: data_dir={config.data_dir!r} with no {column}s"
            )
        class_names, captions = (values, None) if column == "label" else (None, values)
    context_table = text_context_table(captions, config.text_max_tokens) if captions else None
    context_shape = context_table[0].shape[1:] if captions else None
    run = RunFolder(config.run_dir).prepare(config, data, chief=chief)
    with strategy.scope(), precision_policy(config):
        # normalised spectrograms lie in [0, 1]; an autoencoder's latents are unbounded
        clip_range = None if data.latent_info else (0.0, 1.0)
        model = build_model(config, data_shape, data_mean, data_std, class_names, context_shape, clip_range)
        if config.init_from:
            initialise_from(model, config.init_from, freeze=config.freeze_init_from)
    print(
        f"Training {'latent ' if data.latent_info else ''}DDIM: {model.network.count_params():,} parameters, data {data_shape}, "
        f"{len(data.paths('train'))} training clips, {strategy.num_replicas_in_sync} replica(s).",
        flush=True,
    )
    chief_callbacks = tensorboard_callbacks(config, run, samples=True) if chief else []
    if class_names or captions:
        column, values = ("label", class_names) if class_names else ("caption", captions)
        element_fn = conditional_draws(config.label_dropout, len(values), context_table)
        conditions = lambda split: data.label_indices(split, values, column)  # noqa: E731
        print(f"Conditional on {len(values)} {column}s (dropout {config.label_dropout}): {values[:3]}...", flush=True)
    elif config.conditioning == "mask":
        # a voice roll's top_voice is its first voice's channels (ScoreRollTransform.n_voices; None: merged, not a roll)
        element_fn, conditions = mask_draws(config.mask_kinds, n_voices=getattr(data.transform, "n_voices", None)), None
        print(f"Conditional on a known part of each clip, drawn from {list(config.mask_kinds)}", flush=True)
    else:
        element_fn, conditions = forward_draws, None
    history, seconds, start_step = fit_on_data(
        model, strategy, data, config, run, element_fn, chief=chief, chief_callbacks=chief_callbacks,
        conditions=conditions,
    )
    if not chief:
        return {"optimizer_steps": int(model.optimizer.iterations.numpy())}
    run.write_sampler(model)

    start = time.monotonic()
    model.generate(num_images=1, diffusion_steps=config.sampling_steps)
    sampling_s = time.monotonic() - start
    summary = {
        "model": "latent_ddim" if data.latent_info else "ddim",
        "parameters": int(model.network.count_params()),
        "data_shape": list(data_shape),
        "training_clips": len(data.paths("train")),
        "optimizer_steps": int(model.optimizer.iterations.numpy()),
        "epochs_this_run": len(history.epoch),
        "resumed_from_step": start_step,
        "train_seconds_this_run": round(seconds, 1),
        "final_metrics": {k: float(v[-1]) for k, v in history.history.items()},
        "data_mean": data_mean,
        "data_std": data_std,
        "sampling_seconds_one_clip": round(sampling_s, 3),
        "sampling_steps": config.sampling_steps,
        "class_names": class_names,
        "captions": captions,
    }
    run.write_summary(summary)
    print(f"Saved the model to {run.path}/ ({summary['optimizer_steps']} steps, {seconds / 60:.1f} min).", flush=True)
    return summary


def main(argv=None):
    """CLI entry point; returns the exit status (0 success, 2 bad configuration or data)."""
    args = config_parser("python -m train.diffusion", __doc__.split("\n\n")[0]).parse_args(argv)
    return exit_status(lambda: train(config_from_args(DiffusionTrainConfig, args)))


if __name__ == "__main__":
    sys.exit(main())
