"""Does a model hear the prompt it continues? Its samples of a clip's unknown half, with two prompts.

Usage:
    python -m benchmarks.prompt_sensitivity --model saved_models/chorales_score_roll_ddim
    python -m benchmarks.prompt_sensitivity --model M --pairs 32 --steps 20 --resample 2

Continuation, long pieces and harmonisation fill the unknown part of a window from the known part
(`models.sampling.inpaint`: RePaint, Lugmayr et al. 2022; a ``conditioning: mask`` model is also
shown the known part, Saharia et al. 2022). This measures how much the known part decides what is
sampled. For pairs of held-out test clips (A, B: clips 2k and 2k + 1 of the test split), the first
half of the time axis is known and the second half sampled, three times: prompt A with seed s,
prompt B with the same seed s, and prompt A with another seed. Printed: the mean absolute
difference (stored scale) in the sampled half between the two prompts (the prompt's effect) and
between the two seeds (the noise's effect), and their ratio. Two samples that share nothing but
their prompt differ by about the noise's effect; a ratio near 0 means the sampled half is set by the
seed and the prompt is not heard.
"""

import sys

import numpy as np

from common.errors import ParameterError
from common.validation import integer

DEFAULT_PAIRS = 16


def test_clips(trained, count):
    """The first ``count`` test clips of the model's data set as the model was trained on them
    (`DatasetFolder.load_split`: normalised, with a channel axis), float32 ``(count, *data_shape)``.

    Raises:
        ParameterError: if the test split has fewer clips, or their shape is not the model's.
    """
    from preprocessing.dataset_folder import DatasetFolder

    clips = DatasetFolder(trained.data_dir).load_split("test", count)
    if len(clips) < count:
        raise ParameterError(f"The test split has {len(clips)} clips, fewer than the {count} asked for. "
                             f"Received: data_dir={trained.data_dir!r}")
    if clips.shape[1:] != tuple(trained.model.data_shape):
        raise ParameterError(f"The test clips' shape is not the model's {tuple(trained.model.data_shape)}. "
                             f"Received: {clips.shape[1:]}")
    return clips


def sensitivity(model, clips, steps, resample=1, seed=0):
    """``(prompt effect, noise effect)``: mean absolute differences (stored scale) of the sampled second half
    of the time axis between prompts ``clips[2k]`` and ``clips[2k + 1]`` (same seeds), and between two
    seeds (prompt ``clips[2k]``).

    Args:
        model: a `models.diffusion.DiffusionModel`.
        clips: float32 ``(2 * pairs, *data_shape)`` in the stored scale.
        steps, resample: `models.sampling.inpaint`'s ``diffusion_steps`` and ``resample``.
        seed: int, the first seed (pair k samples with ``seed + k``, and ``seed + pairs + k`` for the other).
    Returns:
        ``(prompt_effect, noise_effect)``, floats >= 0.
    """
    a, b = clips[0::2], clips[1::2]
    pairs, half = len(a), clips.shape[2] // 2
    mask = np.zeros_like(a)
    mask[:, :, :half] = 1.0
    seeds = [seed + k for k in range(pairs)]

    def sampled(known, chosen):
        return model.inpaint(known, mask, diffusion_steps=steps, seeds=chosen, resample=resample)[:, :, half:]

    base = sampled(a, seeds)
    prompt_effect = float(np.abs(sampled(b, seeds) - base).mean())
    noise_effect = float(np.abs(sampled(a, [s + pairs for s in seeds]) - base).mean())
    return prompt_effect, noise_effect


def main(argv=None):
    """CLI entry point: prints the two effects and their ratio; returns the exit status (2 for bad input)."""
    import argparse

    from generate.trained_model import TrainedModel

    parser = argparse.ArgumentParser(prog="python -m benchmarks.prompt_sensitivity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a trained DDIM folder")
    parser.add_argument("--pairs", type=int, default=DEFAULT_PAIRS, help=f"pairs of test clips (default {DEFAULT_PAIRS})")
    parser.add_argument("--steps", type=int, default=None, help="DDIM steps (default: the model's sampling_steps)")
    parser.add_argument("--resample", type=int, default=1, help="RePaint rounds per step (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        pairs = integer("pairs", args.pairs, 1)
        trained = TrainedModel(args.model)
        if trained.kind != "ddim":
            raise ParameterError(f"Only a DDIM continues a prompt. Received: model={args.model!r} ({trained.kind})")
        steps = integer("steps", args.steps, 1) if args.steps is not None else trained.default_steps()
        prompt_effect, noise_effect = sensitivity(trained.model, test_clips(trained, 2 * pairs), steps,
                                                  integer("resample", args.resample, 1), args.seed)
    except ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"{args.model}: {pairs} pairs of test clips, first half known, {steps} steps, resample {args.resample}: "
          f"prompt effect {prompt_effect:.5f}, noise effect {noise_effect:.5f}, "
          f"ratio {prompt_effect / max(noise_effect, 1e-12):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
