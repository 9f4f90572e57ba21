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
CLASS=TEXT`` per class of the data set's labels instead. Writes ``<out>/label_effect.json``.
Exit status: 0, or 2 for an unconditional model, missing prompts or a bad argument.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from common.atomic import atomic_write_json
from common.cli import exit_status
from common.errors import ParameterError
from evaluation import mode, timbre
from evaluation.mode import fit_classifier
from generate.trained_model import TrainedModel
from preprocessing.dataset_folder import DatasetFolder
from preprocessing.representations import representation_name


FEATURES = {"key": mode.features, "timbre": timbre.features}


def _features(data, clips, kind):
    transform = data.transform
    values = [data.normaliser.denormalise(c) for c in clips]
    return FEATURES[kind](values, transform.sample_rate, transform.n_fft)


def _paired(name, difference, real_difference):
    """Mean, standard error and t of a paired difference; printed beside the real clips' difference."""
    error = float(difference.std(ddof=1) / np.sqrt(len(difference))) if len(difference) > 1 else float("nan")
    mean = float(difference.mean())
    return {"statistic": name, "mean": mean, "standard_error": error, "t": mean / error if error > 0 else float("nan"),
            "real_test_difference": real_difference}


def run(args):
    """Measure and print; returns the results dict."""
    if args.num < 1 or args.steps < 1 or args.train_clips < 2:
        raise ParameterError(f"--num and --steps must be >= 1, --train-clips >= 2. "
                             f"Received: num={args.num}, steps={args.steps}, train_clips={args.train_clips}")
    model = TrainedModel(args.model)
    if model.kind != "ddim" or model.model.conditioning is None:
        raise ParameterError(f"The model is not a conditional DDIM. Received: model={args.model!r}")
    data = DatasetFolder(model.data_dir).check()
    # the key and timbre features read rows as linear STFT bins of n_fft // 2 (evaluation.mode, evaluation.timbre)
    if representation_name(data.transform) != "log_stft":
        raise ParameterError(f"label_effect reads log-STFT data sets only. "
                             f"Received: representation={representation_name(data.transform)!r}")
    if model.model.conditioning == "label":
        class_names, prompts = model.model.class_names, {}
    else:
        class_names = data.class_names("train")
        prompts = dict(item.split("=", 1) for item in args.prompt or [] if "=" in item)
        if sorted(prompts) != class_names:
            raise ParameterError(f"A text model needs one --prompt CLASS=TEXT for each class {class_names}. "
                                 f"Received: {args.prompt}")
    rng = np.random.default_rng(0)
    key = args.features == "key"
    train_rows = [i for i, name in enumerate(data.label_indices("train", class_names)) if name < len(class_names)]
    chosen = sorted(rng.permutation(train_rows)[: args.train_clips])
    train_clips = data.load_clips("train", chosen)[..., 0]
    train_labels = data.label_indices("train", class_names)[chosen]
    classifier = fit_classifier(_features(data, train_clips, args.features), train_labels)
    test_labels = data.label_indices("test", class_names)
    keep = test_labels < len(class_names)
    test_labels = test_labels[keep]
    test_clips = data.load_clips("test", np.flatnonzero(keep))[..., 0]
    test_features = _features(data, test_clips, args.features)
    test_accuracy = float(classifier.score(test_features, test_labels))
    # per class, the mean of: the key contrast (key features), the classifier's log-odds (two classes)
    def class_means(values):  # NaN for a class without test clips
        return {name: float(values[test_labels == i].mean()) if np.any(test_labels == i) else float("nan")
                for i, name in enumerate(class_names)}

    two = len(class_names) == 2
    real_contrast = class_means(test_features[:, 2]) if key else {}
    real_log_odds = class_means(classifier.decision_function(test_features)) if two else {}
    print(f"Classifier ({', '.join(class_names)}; {args.features} features) trained on {len(chosen)} real training "
          f"clips: accuracy {test_accuracy:.3f} on {int(keep.sum())} real test clips (majority class "
          f"{np.bincount(test_labels).max() / keep.sum():.3f})"
          + ("; key contrast of the real test clips: " + ", ".join(f"{k} {v:+.4f}" for k, v in real_contrast.items())
             if key else ""), flush=True)

    seeds = list(range(args.seed, args.seed + args.num))
    rows, contrasts, log_odds = [], {}, {}
    header = f"{'label':<10} {'guidance':>8} " + " ".join(f"{'as ' + c:>10}" for c in class_names) + \
        " " + " ".join(f"{'P(' + c + ')':>10}" for c in class_names) + f" {'s/clip':>7}"
    print(header)
    for scale in args.scales:
        for label in class_names:
            start = time.monotonic()
            condition = {"prompt": prompts[label]} if prompts else {"label": label}
            clips = model.spectrograms(seeds=seeds, steps=args.steps, guidance_scale=scale, **condition)
            seconds = (time.monotonic() - start) / len(seeds)
            sample_features = _features(data, clips, args.features)
            probabilities = classifier.predict_proba(sample_features)
            shares = np.bincount(probabilities.argmax(axis=1), minlength=len(class_names)) / len(seeds)
            row = {"label": label, "prompt": prompts.get(label), "guidance_scale": scale,
                   "share_classified_as": dict(zip(class_names, shares.tolist())),
                   "mean_probability": dict(zip(class_names, probabilities.mean(axis=0).tolist())),
                   "seconds_per_clip": round(seconds, 3)}
            if key:
                contrasts[(scale, label)] = sample_features[:, 2]
                row["mean_key_contrast"] = float(sample_features[:, 2].mean())
            if two:
                log_odds[(scale, label)] = classifier.decision_function(sample_features)
                row["mean_log_odds"] = float(log_odds[(scale, label)].mean())
            rows.append(row)
            print(f"{label:<10} {scale:>8g} " + " ".join(f"{v:>10.3f}" for v in shares) + " " +
                  " ".join(f"{v:>10.3f}" for v in probabilities.mean(axis=0)) + f" {seconds:>7.2f}", flush=True)
    paired = []
    if two:
        first, second = class_names
        statistics = [("log_odds", log_odds, real_log_odds)] + ([("key_contrast", contrasts, real_contrast)] if key else [])
        for name, values, real in statistics:
            real_difference = real[second] - real[first]
            print(f"{name}, {second} minus {first} samples of the same seed (real test clips: {real_difference:+.4f}):")
            for scale in args.scales:
                row = _paired(name, values[(scale, second)] - values[(scale, first)], real_difference)
                paired.append({"guidance_scale": scale, **row})
                print(f"  guidance {scale:g}: {row['mean']:+.4f} +- {row['standard_error']:.4f} (t = {row['t']:.2f})",
                      flush=True)
    results = {"model": args.model, "num": args.num, "steps": args.steps, "seeds": seeds, "features": args.features,
               "classifier_test_accuracy": test_accuracy, "classifier_train_clips": len(chosen),
               "real_test_key_contrast": real_contrast, "real_test_log_odds": real_log_odds, "rows": rows,
               "paired": paired}
    atomic_write_json(Path(args.out or Path("outputs") / Path(args.model).name) / "label_effect.json", results)
    return results


def parse_args(argv=None):
    """The CLI's arguments (checked in `run`)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="a class-conditional DDIM run folder")
    parser.add_argument("--num", type=int, default=64, help="samples per label and guidance scale (default 64)")
    parser.add_argument("--scales", type=float, nargs="+", default=[0.0, 1.0, 3.0], help="guidance scales (default 0 1 3)")
    parser.add_argument("--steps", type=int, default=10, help="DDIM steps (default 10)")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
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
