"""Fit a score-roll DDIM's learned critic to its own samples and write it to its run folder (``critic.json``).

Usage:
    python -m generate.fit_critic --model saved_models/chorales_score_roll_ddim   # 1500 samples, ~3 min
    python -m generate.fit_critic --model outputs/runs/my_roll_run --num 3000 --regularisation 0.5

Samples ``--num`` free samples (seeds ``--seed`` + i, one candidate each), decodes them to notes, reads the
training split of the run's data set, fits `generate.learned_critic.LearnedCritic` and prints its
cross-validated ROC AUC. Sampling with ``--candidates K --critic learned`` (or the run's
``sampling_critic: learned``) then keeps, of K candidates, the one it finds most like the data.
Exit status: 0, or 2 for bad input (a run that is not a score-roll DDIM, ``--num`` < 2, a negative seed).
"""

import argparse
import sys
import time
from pathlib import Path

from common.cli import exit_status
from common.errors import ParameterError
from common.validation import integer
from generate.learned_critic import CRITIC_FILE, LearnedCritic, training_clips


def build_parser():
    """The ``argparse`` parser of ``python -m generate.fit_critic`` (options in the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m generate.fit_critic", description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a score-roll DDIM's run folder; critic.json is written there")
    parser.add_argument("--data", default=None, help="its data set (default: the run's data_dir)")
    parser.add_argument("--num", type=int, default=1500, help="free samples to fit on (default 1500)")
    parser.add_argument("--seed", type=int, default=700000,
                        help="seed of the first sample (default 700000: apart from the evaluation's draws)")
    parser.add_argument("--regularisation", type=float, default=1.0, help="inverse L2 strength C (default 1)")
    return parser


def fit_critic(args) -> int:
    """Sample, fit and write the critic as the module docstring says; returns 0.

    Raises:
        ParameterError: for a run that is not a score-roll DDIM, ``--num`` < 2 or ``--seed`` < 0 (before any
            sampling), or a data set without training clips.
    """
    from generate.trained_model import TrainedModel

    start = time.monotonic()
    model = TrainedModel(args.model, data_dir=args.data)
    if not model.samples_score_rolls:
        raise ParameterError(f"A learned critic needs a DDIM trained on score rolls. Received: model={args.model!r}")
    num = integer("--num", args.num, 2)
    integer("--seed", args.seed, 0)
    codec = model.sound_generator.codec
    generated = []
    for first in range(args.seed, args.seed + num, 100):
        values = model.spectrograms(seeds=list(range(first, min(first + 100, args.seed + num))), candidates=1)
        generated += [(codec.transform.decode(codec.denormalise(v)), v.shape[1]) for v in values]
    real = training_clips(model.data_dir)
    critic = LearnedCritic.fit(real, generated, regularisation=args.regularisation)
    critic.info.update({"data_dir": str(model.data_dir), "first_seed": int(args.seed)})
    path = critic.save(Path(args.model) / CRITIC_FILE)
    print(f"Fitted on {len(real)} training clips and {len(generated)} samples in {time.monotonic() - start:.0f} s: "
          f"cross-validated ROC AUC {critic.info['cross_validated_auc']}; wrote {path}")
    return 0


def main(argv=None) -> int:
    """CLI entry point; returns 0, or 2 after printing a bad input's `ParameterError` (`fit_critic`)."""
    return exit_status(fit_critic, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
