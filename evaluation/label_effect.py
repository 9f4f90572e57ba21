"""Does a label act on samples? A classifier trained on real clips, and statistics of its verdicts.

The scoring half of ``python -m generate.label_effect`` (which samples the model). A
logistic regression (`evaluation.mode.fit_classifier`) is trained on the real
training clips of a log-STFT data set, on key-profile features (`evaluation.mode`,
for ``major``/``minor`` labels) or spectral-envelope features (`evaluation.timbre`,
for instruments); its accuracy on the real test clips is the ceiling of what the
measurement can show. A conditional model's samples of each label are then
classified (`RealClassifier.verdict`). Because a weak classifier can hide a real
effect, with two classes the paired difference between the two labels' samples of
the same seed is measured too (`paired_differences`): of the classifier's log-odds,
and of the key contrast (best major minus best minor key-profile correlation,
`evaluation.mode.key_features`), each beside the same difference between the real
test clips of the two classes.
"""

import dataclasses

import numpy as np

from common.errors import ParameterError
from evaluation import mode, timbre
from evaluation.mode import fit_classifier

FEATURES = {"key": mode.features, "timbre": timbre.features}
KEY_CONTRAST = 2  # the column of `evaluation.mode.key_features` that holds the key contrast


def clip_features(data, clips, kind):
    """The ``kind`` features of normalised log-STFT clips of a data set.

    Args:
        data: the clips' `preprocessing.dataset_folder.DatasetFolder` (its transform, a
            log-STFT, and its normaliser, which brings the clips back to dB).
        clips: float ``(n, n_fft // 2, n_frames)`` spectrograms normalised to [0, 1].
        kind: ``"key"`` or ``"timbre"`` (`FEATURES`).
    Returns:
        float64 ``(n, n_features)``: `evaluation.mode.features` (3) or `evaluation.timbre.features`.
    """
    transform = data.transform
    values = [data.normaliser.denormalise(c) for c in clips]
    return FEATURES[kind](values, transform.sample_rate, transform.n_fft)


def paired_difference(name, difference, real_difference):
    """Mean, standard error and t of a paired difference, beside the real test clips' difference.

    Args:
        name: the statistic's name (``log_odds`` or ``key_contrast``).
        difference: float ``(n,)``, one difference per seed (second label's sample minus the first's).
        real_difference: float, the same difference between the real test clips' class means.
    Returns:
        dict: ``statistic``, ``mean``, ``standard_error`` (NaN for one seed), ``t`` (NaN when
        the standard error is 0 or NaN) and ``real_test_difference``.
    """
    error = float(difference.std(ddof=1) / np.sqrt(len(difference))) if len(difference) > 1 else float("nan")
    mean = float(difference.mean())
    return {"statistic": name, "mean": mean, "standard_error": error, "t": mean / error if error > 0 else float("nan"),
            "real_test_difference": real_difference}


@dataclasses.dataclass
class RealClassifier:
    """A classifier trained on a data set's real training clips, and its figures on the real test clips.

    Attributes:
        classifier: the fitted scikit-learn pipeline (`evaluation.mode.fit_classifier`).
        class_names: list of str, class ``i`` is ``class_names[i]``.
        kind: the features, ``"key"`` or ``"timbre"``.
        n_train: int, training clips it was fitted on.
        n_test: int, labelled real test clips.
        test_accuracy: float in [0, 1] on those.
        majority_share: float, the largest class's share of the test clips (the accuracy of guessing it).
        real_contrast: class name -> mean key contrast of its real test clips (``key`` only; else empty).
        real_log_odds: class name -> mean log-odds of its real test clips (two classes only; else empty).
    """

    classifier: object
    class_names: list
    kind: str
    n_train: int
    n_test: int
    test_accuracy: float
    majority_share: float
    real_contrast: dict
    real_log_odds: dict

    def verdict(self, features):
        """What the classifier says of samples' features (from `clip_features`).

        Returns:
            ``(shares, probabilities, log_odds)``: float ``(n_classes,)`` the share of samples
            assigned to each class, float ``(n_classes,)`` the mean probability of each class,
            and float ``(n,)`` each sample's log-odds (two classes; None otherwise).
        """
        probabilities = self.classifier.predict_proba(features)
        shares = np.bincount(probabilities.argmax(axis=1), minlength=len(self.class_names)) / len(features)
        log_odds = self.classifier.decision_function(features) if len(self.class_names) == 2 else None
        return shares, probabilities.mean(axis=0), log_odds


def fit_real_classifier(data, class_names, kind, train_clips):
    """Train the classifier on up to ``train_clips`` labelled real training clips; measure it on the test clips.

    The training clips are a seeded (0) random choice among those with one of
    ``class_names``; test clips without one are left out.

    Args:
        data: a checked log-STFT `preprocessing.dataset_folder.DatasetFolder` with labels.
        class_names: list of str, the classes (a model's labels).
        kind: ``"key"`` or ``"timbre"``.
        train_clips: int >= 2.
    Returns:
        A `RealClassifier`.
    Raises:
        ParameterError: for an unknown ``kind``.
    """
    if kind not in FEATURES:
        raise ParameterError(f"features must be one of {sorted(FEATURES)}. Received: features={kind!r}")
    rng = np.random.default_rng(0)
    train_rows = [i for i, name in enumerate(data.label_indices("train", class_names)) if name < len(class_names)]
    chosen = sorted(rng.permutation(train_rows)[:train_clips])
    train = data.load_clips("train", chosen)[..., 0]
    classifier = fit_classifier(clip_features(data, train, kind), data.label_indices("train", class_names)[chosen])
    test_labels = data.label_indices("test", class_names)
    keep = test_labels < len(class_names)
    test_labels = test_labels[keep]
    test_features = clip_features(data, data.load_clips("test", np.flatnonzero(keep))[..., 0], kind)

    def class_means(values):  # NaN for a class without test clips
        return {name: float(values[test_labels == i].mean()) if np.any(test_labels == i) else float("nan")
                for i, name in enumerate(class_names)}

    return RealClassifier(
        classifier=classifier, class_names=list(class_names), kind=kind, n_train=len(chosen), n_test=int(keep.sum()),
        test_accuracy=float(classifier.score(test_features, test_labels)),
        majority_share=np.bincount(test_labels).max() / keep.sum(),
        real_contrast=class_means(test_features[:, KEY_CONTRAST]) if kind == "key" else {},
        real_log_odds=class_means(classifier.decision_function(test_features)) if len(class_names) == 2 else {},
    )


def paired_differences(real, scales, log_odds, contrasts):
    """Second label minus first, seed by seed, per guidance scale (two classes only).

    Args:
        real: the `RealClassifier` (its two class names and real test clips' means).
        scales: the guidance scales sampled.
        log_odds, contrasts: ``(scale, label) -> float (n,)``, the samples' log-odds and
            (``key`` features) key contrasts, in seed order.
    Returns:
        list of dicts, ``{"guidance_scale": scale, **paired_difference(...)}``: every scale
        of ``log_odds``, then (``key``) every scale of ``key_contrast``; empty unless two classes.
    """
    if len(real.class_names) != 2:
        return []
    first, second = real.class_names
    statistics = [("log_odds", log_odds, real.real_log_odds)]
    if real.kind == "key":
        statistics.append(("key_contrast", contrasts, real.real_contrast))
    rows = []
    for name, values, real_means in statistics:
        real_difference = real_means[second] - real_means[first]
        for scale in scales:
            row = paired_difference(name, values[(scale, second)] - values[(scale, first)], real_difference)
            rows.append({"guidance_scale": scale, **row})
    return rows
