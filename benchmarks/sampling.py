"""Sampling speed of a trained DDIM: noise to WAV, per clip, and the real-time factor.

Usage:
    python -m benchmarks.sampling --model saved_models/chorales_ddim --num 8 --steps 10 20 --griffin-lim-iters 32

Prints one row per DDIM step count: seconds in the network, seconds in
Griffin-Lim, seconds per clip, and how many times faster than real time.
The first (warm-up) batch is not timed.
"""

import argparse
import time

from generate.sound_generator import SoundGenerator
from models.ddim import load_sampler


def main(argv=None):
    """CLI entry point; prints the table and returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="saved_models/chorales_ddim")
    parser.add_argument("--num", type=int, default=8, help="clips per measurement")
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 20], help="DDIM step counts to time")
    parser.add_argument("--griffin-lim-iters", type=int, default=32)
    args = parser.parse_args(argv)

    model = load_sampler(args.model)
    sound_generator = SoundGenerator.from_model_dir(args.model, n_iter=args.griffin_lim_iters)
    # warm-up, not timed: traces the network for this batch size and runs Griffin-Lim once
    sound_generator.generate(model.generate(num_images=args.num, diffusion_steps=1)[:1])
    clip_s = model.data_shape[1] * sound_generator.transform.hop_length / sound_generator.transform.sample_rate
    print(f"model {args.model}: {model.network.count_params():,} parameters, clip {clip_s:.3f} s, {args.num} clips")
    print(f"{'steps':>5} {'network s/clip':>15} {'Griffin-Lim s/clip':>19} {'total s/clip':>13} {'x real time':>12}")
    for steps in args.steps:
        start = time.monotonic()
        spectrograms = model.generate(seeds=list(range(args.num)), diffusion_steps=steps)
        network_s = (time.monotonic() - start) / args.num
        start = time.monotonic()
        sound_generator.generate(spectrograms)
        inversion_s = (time.monotonic() - start) / args.num
        total = network_s + inversion_s
        print(f"{steps:>5} {network_s:>15.3f} {inversion_s:>19.3f} {total:>13.3f} {clip_s / total:>12.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
