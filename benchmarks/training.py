"""Training throughput: seconds per optimizer step and samples per second, on real batches.

Usage:
    python -m benchmarks.training --model ddim --warmup 3 --steps 20
    python -m benchmarks.training --model autoencoder --steps 50
    python -m benchmarks.training --model ddim --config configs/chorales_ddim.yaml --set block_depth=2
    python -m benchmarks.training --model ddim --set jit_compile=true --set mixed_precision=mixed_bfloat16

Builds the model and trains it exactly as the training CLI does (``train.diffusion``
or ``train.autoencoder``: the same config file, default ``configs/chorales_<model>.yaml``,
``--set`` overrides, seed, strategy, ``build_model``, the dtype policy, and the
loop of `train.loop` streaming from ``SpectrogramData.stream``) for one epoch of
``--warmup + --steps`` steps. The warm-up steps (tracing the train step, filling
the prefetch) are not timed; the timed span runs from the end of the last warm-up
step to the end of the last step, so it includes waiting for the input pipeline
as training does. The run folder is a temporary one, removed afterwards. Prints
one row: parameters, global batch size, replicas, seconds per step, samples per
second, then the peak RSS. Under ``--set strategy=multi_worker`` start one process
per worker, each with its ``TF_CONFIG``; the chief prints.
"""

import dataclasses
import tempfile
import time
from pathlib import Path

import keras

from benchmarks.report import add_json_argument, print_peak_rss, significant, write_results
from common.cli import config_from_args, config_parser, exit_status
from common.errors import ParameterError
from models.training_draws import forward_draws
from train import autoencoder, diffusion, loop
from train.config import AutoencoderTrainConfig, DiffusionTrainConfig
from train.data import SpectrogramData
from train.options import precision_policy
from train.run_folder import RunFolder
from train.strategy import get_strategy

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
MODELS = {
    # model: (config class, default config file, display name)
    "ddim": (DiffusionTrainConfig, CONFIGS / "chorales_ddim.yaml", "DDIM"),
    "autoencoder": (AutoencoderTrainConfig, CONFIGS / "chorales_autoencoder.yaml", "autoencoder"),
}


class StepTimer(keras.callbacks.Callback):
    """Records ``time.perf_counter()`` at the end of every training batch, in ``self.ends`` (seconds)."""

    def __init__(self):
        super().__init__()
        self.ends = []

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append(time.perf_counter())


def build(model_name, config, strategy):
    """The compiled model, its training element function and data, as the training CLI builds them.

    Args:
        model_name: ``"ddim"`` or ``"autoencoder"``.
        config: the matching `DiffusionTrainConfig` or `AutoencoderTrainConfig`.
        strategy: the ``tf.distribute.Strategy`` to build under.
    Returns:
        ``(model, element_fn, data)`` for `train.loop.fit_on_data`.
    Raises:
        ParameterError: if the dataset is missing or the model does not fit it.
    """
    keras.utils.set_random_seed(config.seed)
    data = SpectrogramData(config.data_dir)
    data_shape = data.clip_shape(config.random_time_crop)
    with strategy.scope(), precision_policy(config):
        if model_name == "ddim":
            model = diffusion.build_model(config, data_shape, *data.moments("train", seed=config.seed))
            return model, forward_draws, data
        return autoencoder.build_model(config, data_shape), autoencoder.reconstruction_pair, data


def measure(model_name, config, warmup=3, steps=20):
    """Seconds per optimizer step of ``steps`` steps after ``warmup`` untimed ones.

    Args:
        model_name: ``"ddim"`` or ``"autoencoder"``.
        config: the matching training config.
        warmup: int >= 1, untimed steps (the first traces the train step).
        steps: int >= 1, timed steps.
    Returns:
        A row ``{"setting": str, "figures": {"parameters", "batch", "replicas", "s/step", "samples/s"}}``
        (``batch`` is the global batch), and whether this process is the chief.
    Raises:
        ParameterError: if ``warmup`` or ``steps`` < 1, or as `build` raises.
    """
    if warmup < 1 or steps < 1:
        raise ParameterError(f"--warmup and --steps must be >= 1. Received: warmup={warmup}, steps={steps}")
    strategy, chief = get_strategy(config.strategy, config.worker_timeout_s)
    with tempfile.TemporaryDirectory(prefix="benchmark_training_") as run_dir:
        config = dataclasses.replace(config, run_dir=run_dir, epochs=1, steps_per_epoch=warmup + steps,
                                     validation_batches=0, checkpoint_every=None, max_train_minutes=None)
        model, element_fn, data = build(model_name, config, strategy)
        timer = StepTimer()
        fit(model, strategy, data, config, run_dir, element_fn, chief, timer)
    seconds_per_step = (timer.ends[-1] - timer.ends[warmup - 1]) / steps
    parameters = model.network.count_params() if model_name == "ddim" else model.count_params()
    row = {
        "setting": f"{MODELS[model_name][2]}, batch {config.batch_size}",
        "figures": {
            "parameters": int(parameters),
            "batch": config.batch_size,
            "replicas": strategy.num_replicas_in_sync,
            "s/step": significant(seconds_per_step),
            "samples/s": significant(config.batch_size / seconds_per_step),
        },
    }
    return row, chief


def fit(model, strategy, data, config, run_dir, element_fn, chief, timer):
    """`train.loop.fit_on_data` with ``timer`` on every worker and no progress output."""
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):
        loop.fit(
            model, strategy,
            lambda context, start: data.stream("train", config.batch_size, element_fn, seed=config.seed,
                                               start_step=start, crop_frames=config.random_time_crop,
                                               input_context=context, cache=config.cache_clips),
            None, config, RunFolder(run_dir), chief=chief, callbacks=[timer],
        )


def run(args):
    """Measure, print the row and write the JSON; returns 0."""
    config_class, default_config, _ = MODELS[args.model]
    args.config = args.config or str(default_config)
    config = config_from_args(config_class, args)
    row, chief = measure(args.model, config, args.warmup, args.steps)
    if not chief:
        return 0
    f = row["figures"]
    print(f"{args.model} from {args.config}, data {config.data_dir}: {args.warmup} warm-up steps, {args.steps} timed")
    print(f"{'model':<24} {'parameters':>11} {'batch':>6} {'replicas':>8} {'s/step':>8} {'samples/s':>10}")
    print(f"{row['setting']:<24} {f['parameters']:>11,} {f['batch']:>6} {f['replicas']:>8} {f['s/step']:>8.3f} "
          f"{f['samples/s']:>10.1f}")
    print_peak_rss()
    write_results(args.json, "training", [row])
    return 0


def main(argv=None):
    """CLI entry point; returns the exit status (0, or 2 for bad arguments or data)."""
    parser = config_parser(
        "python -m benchmarks.training", __doc__.split("\n\n")[0],
        config_help="YAML file of config keys (default: configs/chorales_<model>.yaml)",
    )
    parser.add_argument("--model", choices=sorted(MODELS), default="ddim", help="which training to time (default ddim)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    parser.add_argument("--steps", type=int, default=20, help="timed steps (default 20)")
    add_json_argument(parser)
    return exit_status(run, parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
