"""Does the label act? Classify a class-conditional DDIM's samples with a classifier trained on real clips.

Usage:
    python -m generate.label_effect --model saved_models/chorales_ddim_mode --num 64 --scales 0 1 3
    python -m generate.label_effect --model saved_models/chorales_ddim_instrument --features timbre
    python -m generate.label_effect --model saved_models/chorales_ddim_text \
        --prompt "major=a four-part Bach chorale in C major, played on church organ, 120 bpm" \
        --prompt "minor=a four-part Bach chorale in A minor, played on church organ, 120 bpm"

For a model trained with ``conditioning: label`` on a log-STFT data set, it trains a
classifier on the real training clips' labels (``--features key``: the key-profile
features of `evaluation.mode`, for ``major``/``minor``, the chorales' default labels;
``--features timbre``: the spectral-envelope features of `evaluation.timbre`, for
instruments), reports its accuracy on the real test clips (the ceiling), then samples
``--num`` clips per label and guidance scale (the same seeds for every label) and
reports the share of each label's samples the classifier assigns to each class, and
the mean probability of each class. If the conditioning works, each label's samples
lean to their own class, more so as the guidance scale grows. Because a weak
classifier can hide a real effect, with two classes it also reports the paired
difference, between the two labels' samples of the same seed, of the classifier's
log-odds (mean, standard error, t) and, for key features, of the key contrast (best
major minus best minor key-profile correlation, `evaluation.mode.key_features`),
each beside the same difference between the real test clips of the two classes. A text-conditional model is sampled with one ``--prompt
CLASS=TEXT`` per class of the data set's labels instead. ``--precision`` is `generate.sounds`' (default: the
run's ``sampling_precision``; ``auto`` is bfloat16 on a CPU with it), and the report names the one used.
Writes ``<out>/label_effect.json``.
The classifier and its statistics are `evaluation.label_effect`; this module samples.
Exit status: 0, or 2 for an unconditional model, missing prompts or a bad argument.
"""

import argparse
import sys
import time
from pathlib import Path

from common.atomic import atomic_write_json
from common.cli import exit_status
from common.errors import ParameterError
from evaluation.label_effect import FEATURES, KEY_CONTRAST, clip_features, fit_real_classifier, paired_differences
from generate.trained_model import TrainedModel, add_guidance_interval_argument, add_precision_argument
from preprocessing.dataset_folder import DatasetFolder
from preprocessing.representations import representation_name


def open_model(args):
    """The conditional DDIM, its checked data set, its class names and (text models) the prompt of each.

    Returns:
        ``(model, data, class_names, prompts)``: a `TrainedModel`, its `DatasetFolder`, list of
        str, and class name -> prompt (empty for a label model).
    Raises:
        ParameterError: for a bad ``--num``, ``--steps`` or ``--train-clips``, a model that is not a
            conditional DDIM, a data set that is not log-STFT, or a text model without one
            ``--prompt CLASS=TEXT`` per class.
    """
    if args.num < 1 or (args.steps is not None and args.steps < 1) or args.train_clips < 2:
        raise ParameterError(f"--num and --steps must be >= 1, --train-clips >= 2. "
                             f"Received: num={args.num}, steps={args.steps}, train_clips={args.train_clips}")
    model = TrainedModel(args.model, precision=args.precision)
    if model.kind != "ddim" or model.model.conditioning is None:
        raise ParameterError(f"The model is not a conditional DDIM. Received: model={args.model!r}")
    if args.steps is None:
        args.steps = model.default_steps()  # sample as the model does in generate.sounds
    data = DatasetFolder(model.data_dir).check()
    # the key and timbre features read rows as linear STFT bins of n_fft // 2 (evaluation.mode, evaluation.timbre)
    if representation_name(data.transform) != "log_stft":
        raise ParameterError(f"label_effect reads log-STFT data sets only. "
                             f"Received: representation={representation_name(data.transform)!r}")
    if model.model.conditioning == "label":
        return model, data, model.model.class_names, {}
    class_names = data.class_names("train")
    prompts = dict(item.split("=", 1) for item in args.prompt or [] if "=" in item)
    if sorted(prompts) != class_names:
        raise ParameterError(f"A text model needs one --prompt CLASS=TEXT for each class {class_names}. "
                             f"Received: {args.prompt}")
    return model, data, class_names, prompts


def sample_rows(model, data, real, prompts, args, seeds):
    """Sample every label at every guidance scale and classify the samples; prints a table row for each.

    Returns:
        ``(rows, log_odds, contrasts)``: one dict per (scale, label), and the samples'
        log-odds (two classes) and key contrasts (key features) by ``(scale, label)``.
    """
    class_names = real.class_names
    rows, contrasts, log_odds = [], {}, {}
    print(f"{'label':<10} {'guidance':>8} " + " ".join(f"{'as ' + c:>10}" for c in class_names) +
          " " + " ".join(f"{'P(' + c + ')':>10}" for c in class_names) + f" {'s/clip':>7}")
    for scale in args.scales:
        for label in class_names:
            start = time.monotonic()
            condition = {"prompt": prompts[label]} if prompts else {"label": label}
            clips = model.spectrograms(seeds=seeds, steps=args.steps, guidance_scale=scale,
                                       guidance_interval=args.guidance_interval, **condition)
            seconds = (time.monotonic() - start) / len(seeds)
            sample_features = clip_features(data, clips, args.features)
            shares, probabilities, sample_log_odds = real.verdict(sample_features)
            row = {"label": label, "prompt": prompts.get(label), "guidance_scale": scale,
                   "share_classified_as": dict(zip(class_names, shares.tolist())),
                   "mean_probability": dict(zip(class_names, probabilities.tolist())),
                   "seconds_per_clip": round(seconds, 3)}
            if args.features == "key":
                contrasts[(scale, label)] = sample_features[:, KEY_CONTRAST]
                row["mean_key_contrast"] = float(sample_features[:, KEY_CONTRAST].mean())
            if sample_log_odds is not None:
                log_odds[(scale, label)] = sample_log_odds
                row["mean_log_odds"] = float(sample_log_odds.mean())
            rows.append(row)
            print(f"{label:<10} {scale:>8g} " + " ".join(f"{v:>10.3f}" for v in shares) + " " +
                  " ".join(f"{v:>10.3f}" for v in probabilities) + f" {seconds:>7.2f}", flush=True)
    return rows, log_odds, contrasts


def print_paired(paired, class_names):
    """Print `evaluation.label_effect.paired_differences`: a heading per statistic, a line per scale."""
    heading = None
    for row in paired:
        if row["statistic"] != heading:
            heading = row["statistic"]
            print(f"{heading}, {class_names[1]} minus {class_names[0]} samples of the same seed "
                  f"(real test clips: {row['real_test_difference']:+.4f}):")
        print(f"  guidance {row['guidance_scale']:g}: {row['mean']:+.4f} +- {row['standard_error']:.4f} "
              f"(t = {row['t']:.2f})", flush=True)


def run(args):
    """Measure and print; returns the results dict."""
    model, data, class_names, prompts = open_model(args)
    real = fit_real_classifier(data, class_names, args.features, args.train_clips)
    print(f"Classifier ({', '.join(class_names)}; {args.features} features) trained on {real.n_train} real training "
          f"clips: accuracy {real.test_accuracy:.3f} on {real.n_test} real test clips (majority class "
          f"{real.majority_share:.3f})"
          + ("; key contrast of the real test clips: " + ", ".join(f"{k} {v:+.4f}" for k, v in real.real_contrast.items())
             if args.features == "key" else ""), flush=True)
    seeds = list(range(args.seed, args.seed + args.num))
    rows, log_odds, contrasts = sample_rows(model, data, real, prompts, args, seeds)
    paired = paired_differences(real, args.scales, log_odds, contrasts)
    print_paired(paired, class_names)
    interval = model.sampling_options(conditioned=True, guidance_interval=args.guidance_interval)["guidance_interval"]
    results = {"model": args.model, "num": args.num, "steps": args.steps, "seeds": seeds, "features": args.features,
               "guidance_interval": interval, "precision": model.precision,
               "classifier_test_accuracy": real.test_accuracy, "classifier_train_clips": real.n_train,
               "real_test_key_contrast": real.real_contrast, "real_test_log_odds": real.real_log_odds, "rows": rows,
               "paired": paired}
    atomic_write_json(Path(args.out or Path("outputs") / Path(args.model).name) / "label_effect.json", results)
    return results


def parse_args(argv=None):
    """The CLI's arguments (checked in `run`)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a class-conditional DDIM run folder")
    parser.add_argument("--num", type=int, default=64, help="samples per label and guidance scale (default 64)")
    parser.add_argument("--scales", type=float, nargs="+", default=[0.0, 1.0, 3.0], help="guidance scales (default 0 1 3)")
    parser.add_argument("--steps", type=int, default=None, help="DDIM steps (default: the model's sampling_steps)")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    add_guidance_interval_argument(parser)
    add_precision_argument(parser)
    parser.add_argument("--train-clips", type=int, default=800, help="real training clips for the classifier (default 800)")
    parser.add_argument("--prompt", action="append", help="text models: CLASS=TEXT, once per class")
    parser.add_argument("--features", choices=sorted(FEATURES), default="key",
                        help="classifier features: key (major/minor labels, default) or timbre (instrument labels)")
    parser.add_argument("--out", default=None, help="output folder (default outputs/<model folder name>)")
    return parser.parse_args(argv)


def main(argv=None):
    """CLI entry point; returns the exit status."""
    return exit_status(lambda: run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
