"""What each DDIM model preset costs on this machine: parameters, training and sampling time.

Usage:
    python -m benchmarks.presets                         # tiny, small (the shipped model's size), base
    python -m benchmarks.presets --presets tiny --train-steps 5 --clips 2

For each preset of `train.config.PRESETS`, the default DDIM config
(``configs/chorales_ddim.yaml``) with ``preset: <name>`` is built on the
default dataset exactly as ``train.diffusion`` builds it. The table gives the
network's parameters, seconds per training step at the config's batch size
(`benchmarks.training.measure`: warm-up steps untimed), and the network's
seconds per sampling step per clip, from ``--clips`` clips sampled in one
batch at 10 DDIM steps after an untimed warm-up. Weights are untrained: the
cost does not depend on them.
"""

import argparse
import time
from pathlib import Path

import tensorflow as tf

from benchmarks import training
from common.config import load_config
from train.config import PRESETS, DiffusionTrainConfig

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "chorales_ddim.yaml"


def sampling_seconds_per_step(config, clips=4, steps=10):
    """Network seconds per DDIM step per clip, for ``clips`` clips sampled together."""
    model, _, _ = training.build("ddim", config, tf.distribute.get_strategy())
    model.generate(num_images=clips, diffusion_steps=1)  # warm-up: traces the sampling step
    start = time.perf_counter()
    model.generate(seeds=list(range(clips)), diffusion_steps=steps)
    return (time.perf_counter() - start) / (clips * steps)


def main(argv=None):
    """CLI entry point; prints one row per preset and returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--presets", nargs="+", default=list(PRESETS), choices=list(PRESETS))
    parser.add_argument("--config", default=str(CONFIG))
    parser.add_argument("--train-steps", type=int, default=10, help="timed training steps per preset")
    parser.add_argument("--clips", type=int, default=4, help="clips sampled together")
    args = parser.parse_args(argv)
    print(f"{'preset':<8} {'parameters':>11} {'batch':>6} {'train s/step':>13} {'sample s/step/clip':>19} "
          f"{'10 steps s/clip':>16}")
    for name in args.presets:
        config = load_config(DiffusionTrainConfig, args.config, {"preset": name})
        row = training.measure("ddim", config, warmup=2, steps=args.train_steps)[0]["figures"]
        sample_s = sampling_seconds_per_step(config, clips=args.clips)
        print(f"{name:<8} {row['parameters']:>11,} {row['batch']:>6} {row['s/step']:>13.3f} {sample_s:>19.4f} "
              f"{10 * sample_s:>16.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
