"""Sampling speed of a trained generative model: noise to WAV, per clip, and the real-time factor.

Usage:
    python -m benchmarks.sampling --model saved_models/chorales_ddim --num 8 --steps 10 20 --griffin-lim-iters 32
    python -m benchmarks.sampling --model saved_models/chorales_latent_ddim --steps 10
    python -m benchmarks.sampling --model saved_models/chorales_score_roll_ddim --steps 10 --candidates 1 4 --critic learned

Prints one row per DDIM step count (one row for a VAE, which has no steps):
seconds in the network (a latent DDIM's decoder included), seconds in
Griffin-Lim, seconds per clip, seconds per 10 s of audio, and how many times
faster than real time. The first (warm-up) batch is not timed. A score-roll DDIM is timed
for each ``--candidates`` K (samples drawn per clip, the best kept by `generate.rule_critic` or, with
``--critic learned``, `generate.learned_critic`; default: the run's ``sampling_candidates``); its "Griffin-Lim" column is the FluidSynth rendering.
Exit status: 0, or 2 for a model folder that does not sample (an autoencoder).
"""

import argparse
import time

from common.cli import exit_status
from common.errors import ParameterError
from generate.trained_model import TrainedModel
from train.config import SAMPLING_CRITICS


def main(argv=None):
    """CLI entry point; prints the table and returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="saved_models/chorales_ddim")
    parser.add_argument("--num", type=int, default=8, help="clips per measurement")
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 20], help="DDIM step counts to time")
    parser.add_argument("--griffin-lim-iters", type=int, default=None,
                        help="Griffin-Lim iterations (default: the run's griffin_lim_iters, else 32)")
    parser.add_argument("--candidates", type=int, nargs="+", default=[None],
                        help="score-roll DDIM runs: samples drawn per clip, the best kept (default: the run's)")
    parser.add_argument("--critic", default=None, choices=SAMPLING_CRITICS,
                        help="with --candidates K > 1: rules or learned (default: the run's sampling_critic)")
    args = parser.parse_args(argv)

    return exit_status(measure, args)


def measure(args):
    """Time sampling as the module docstring says; returns 0."""
    model = TrainedModel(args.model, n_iter=args.griffin_lim_iters)  # the run and its sound generator, once
    if model.kind not in ("ddim", "vae"):
        raise ParameterError(f"Only a DDIM or a VAE samples from noise. Received: model={args.model!r} ({model.kind})")
    sound_generator = model.sound_generator
    seeds = list(range(args.num))
    # warm-up, not timed: traces the network for this batch size and runs Griffin-Lim once
    sound_generator.generate(model.spectrograms(seeds=seeds, steps=1, candidates=1)[:1])
    clip_s = model.clip_samples / sound_generator.transform.sample_rate
    kind = "latent DDIM" if model.latent_decoder is not None else model.kind.upper()
    print(f"model {args.model} ({kind}): {model.parameters:,} parameters, clip {clip_s:.3f} s, {args.num} clips")
    print(f"{'steps':>5} {'K':>3} {'network s/clip':>15} {'Griffin-Lim s/clip':>19} {'total s/clip':>13} {'s per 10 s':>11} "
          f"{'x real time':>12}")
    for steps, candidates in [(s, k) for s in (args.steps if model.kind == "ddim" else [None]) for k in args.candidates]:
        options = model.sampling_options(steps=steps, candidates=candidates, critic=args.critic)  # refuses K > 1 for other models
        start = time.monotonic()
        spectrograms = model.spectrograms(seeds=seeds, steps=steps, candidates=candidates, critic=args.critic)
        network_s = (time.monotonic() - start) / args.num
        start = time.monotonic()
        sound_generator.generate(spectrograms)
        inversion_s = (time.monotonic() - start) / args.num
        total = network_s + inversion_s
        print(f"{steps or '-':>5} {options.get('candidates', '-'):>3} {network_s:>15.3f} {inversion_s:>19.3f} {total:>13.3f} {10.0 * total / clip_s:>11.2f} "
              f"{clip_s / total:>12.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
