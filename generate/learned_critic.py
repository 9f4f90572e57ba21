"""The best of several samples by a learned critic: a real-versus-generated classifier on part-writing features.

A score-roll DDIM's samples differ from the chorales it learned in ways that show in their notes: fewer
steps with four sounding pitches, more seconds and semitone clashes between voices, wider leaps
(docs/MEASUREMENTS.md). A logistic regression on `roll_features` tells them from the training clips
almost without error (cross-validated ROC AUC 0.999 on the shipped model). Its logit estimates the log
density ratio log p_data(x) / p_model(x) (the classifier-based ratio of Grover et al. 2019, "Bias
correction of learned generative models using likelihood-free importance weighting", NeurIPS, eq. 5),
so keeping, of K candidates of a seed, the one with the highest logit moves the samples towards the data
(discriminator-driven selection, Azadi et al. 2019, "Discriminator Rejection Sampling", ICLR). With
``--candidates K --critic learned`` the sampling CLIs do that (`generate.rule_critic.best_of_candidates`
with `LearnedCritic.score`); the network is unchanged.

The critic is fitted per model, on that model's own free samples, and stored in its run folder as
``critic.json`` (no pickle: the scaler's and the regression's numbers):

    python -m generate.fit_critic --model saved_models/chorales_score_roll_ddim   # 1500 samples, ~3 min

Real clips are the run's data set's training split, in the key the network sees (a key-normalised data
set's clips stay in C major / A minor), so no clip scored by ``generate.evaluate`` is seen.

Measured on the shipped chorale model (docs/MEASUREMENTS.md, "The best of four by a learned critic"):
with K = 4 the FAD of the rendered audio falls from 0.98 +- 0.03 to 0.88 +- 0.12 (four paired draws;
on other real halves from 1.18 +- 0.11 to 1.04 +- 0.09), the mean sounding pitches per step rise from
3.73 to 3.83 (real 3.95, p5 3.80) and the semitone clashes fall from 19.7 % to 13.9 % of chords.
"""

from pathlib import Path

import numpy as np

from common.atomic import atomic_write_json
from common.errors import ParameterError
from common.json_file import read_json_mapping
from common.validation import integer
from evaluation.symbolic import MAX_VOICES_BIN, VOICE_NAMES, clip_voices, dataset_clips, sounding_pitches

CRITIC_FILE = "critic.json"
LARGE_LEAP = 4  # semitones: a voice's move larger than a major third counts as a leap
MAX_ONSETS_BIN = 5  # the last bin of the onsets-per-step histogram: that many or more notes starting together
FEATURE_NAMES = (
    [f"steps_with_{k}_pitches" for k in range(MAX_VOICES_BIN + 1)]
    + ["semitone_clash_share", "parallel_fifths_share", "parallel_octaves_share"]
    + [f"interval_class_{k}" for k in range(7)]
    + ["notes_per_step", "mean_duration", "median_duration"]
    + [f"steps_with_{k}_onsets" for k in range(MAX_ONSETS_BIN + 1)]
    + ["onsets_on_the_beat", "onsets_on_odd_sixteenths"]
    + [f"{voice}_{measure}" for voice in VOICE_NAMES for measure in ("mean", "sd", "mean_move", "leap_share")]
    + [f"pitch_class_{k}" for k in range(12)]
)


def roll_features(notes, n_steps) -> np.ndarray:
    """The critic's features of one clip's notes (`FEATURE_NAMES`, 56 values).

    Per clip, on the steps of its grid (sixteenths for the chorales):
    - the share of steps with 0, 1, ..., 6+ sounding pitches (7);
    - the semitone-clash share of steps with 2+ pitches and the parallel fifths and octaves, each a
      share of moving voice pairs, as `evaluation.symbolic` counts them (3);
    - the interval-class histogram (0-6 semitones modulo the octave) of all pairs of pitches sounding
      together, summed over steps, as shares (7);
    - notes per step, mean and median note duration in steps (3);
    - the share of steps on which 0, 1, ..., 5+ notes start (6);
    - the share of notes starting on a beat (a multiple of 4 steps) and on an odd step (2);
    - per voice (soprano, alto, tenor, bass by rank, `evaluation.symbolic.voices_by_rank`): mean and sd
      of its MIDI pitch, the mean size of its moves in semitones, and the share of moves larger than
      `LARGE_LEAP` semitones (16; zeros for a voice sounding on fewer than 2 steps);
    - the pitch-class histogram of the sounding pitches, as shares (12).

    Args:
        notes: int array ``(n_notes, 3)``: MIDI pitch, start step, end step (`ScoreRollTransform.decode`).
        n_steps: int >= 1, the clip's steps (notes are cut to them).
    Returns:
        float64 ``(len(FEATURE_NAMES),)``; shares in [0, 1], pitches in MIDI numbers, durations in steps.
    Raises:
        ParameterError: for malformed notes or ``n_steps`` < 1 (`evaluation.symbolic.clip_voices`).
    """
    voices_count, pitches, motions, clashes = clip_voices(notes, n_steps)
    notes = np.asarray(notes, dtype=np.int64).reshape(-1, 3)
    sounding = sounding_pitches(notes, n_steps)
    features = list(voices_count / n_steps)
    moving = max(motions["moving_pairs"], 1)
    features += [clashes / max(voices_count[2:].sum(), 1), motions["parallel_fifths"] / moving,
                 motions["parallel_octaves"] / moving]
    interval_classes, pitch_classes = np.zeros(7), np.zeros(12)
    for step in sounding:
        pitch_classes += np.bincount(step % 12, minlength=12)
        for a in range(len(step)):
            distance = (step[a] - step[a + 1:]) % 12
            interval_classes += np.bincount(np.minimum(distance, 12 - distance), minlength=7)
    features += list(interval_classes / max(interval_classes.sum(), 1))
    starts = notes[:, 1]
    durations = np.minimum(notes[:, 2], n_steps) - starts
    features += [len(notes) / n_steps, durations.mean() if len(notes) else 0.0,
                 float(np.median(durations)) if len(notes) else 0.0]
    onsets = np.bincount(starts[starts < n_steps], minlength=n_steps)
    features += list(np.bincount(np.minimum(onsets, MAX_ONSETS_BIN), minlength=MAX_ONSETS_BIN + 1) / n_steps)
    features += [np.mean(starts % 4 == 0) if len(notes) else 0.0, np.mean(starts % 2 == 1) if len(notes) else 0.0]
    for voice in VOICE_NAMES:
        line = np.asarray(pitches[voice], dtype=float)
        if len(line) < 2:
            features += [0.0] * 4
            continue
        moves = np.abs(np.diff(line))
        moves = moves[moves > 0]
        features += [line.mean(), line.std(), moves.mean() if len(moves) else 0.0,
                     np.mean(moves > LARGE_LEAP) if len(moves) else 0.0]
    features += list(pitch_classes / max(pitch_classes.sum(), 1))
    return np.asarray(features, dtype=np.float64)


class LearnedCritic:
    """A logistic regression on standardised `roll_features`: logit > 0 where a clip looks like the data.

    logit(x) = sum_k coef_k (f_k(x) - mean_k) / scale_k + intercept (scikit-learn's ``StandardScaler``
    followed by ``LogisticRegression``, stored as numbers).
    """

    def __init__(self, mean, scale, coef, intercept, info=None):
        self.mean, self.scale, self.coef = (np.asarray(v, dtype=np.float64) for v in (mean, scale, coef))
        self.intercept = float(intercept)
        self.info = dict(info or {})
        if not self.mean.shape == self.scale.shape == self.coef.shape == (len(FEATURE_NAMES),):
            raise ParameterError(f"A critic needs {len(FEATURE_NAMES)} means, scales and coefficients. Received: "
                                 f"shapes {self.mean.shape}, {self.scale.shape}, {self.coef.shape}")

    @classmethod
    def fit(cls, real, generated, regularisation=1.0, folds=5, seed=0):
        """Fit the critic to clips of the data (label 1) and of the model (label 0).

        Args:
            real, generated: lists of ``(notes, n_steps)``, at least ``folds`` clips each.
            regularisation: float > 0, scikit-learn's inverse L2 strength ``C``.
            folds: int >= 2, folds of the cross-validated ROC AUC reported in ``info``.
            seed: int, the folds' shuffling.
        Returns:
            A `LearnedCritic`; ``info`` holds the clip counts and ``cross_validated_auc`` (mean over folds).
        Raises:
            ParameterError: for fewer clips than folds in either set, or ``regularisation`` <= 0.
        """
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold, cross_val_score
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        folds = integer("folds", folds, 2)
        if min(len(real), len(generated)) < folds:
            raise ParameterError(f"The critic needs at least {folds} real and {folds} generated clips. "
                                 f"Received: {len(real)} real, {len(generated)} generated")
        if not regularisation > 0:
            raise ParameterError(f"regularisation must be > 0. Received: regularisation={regularisation}")
        features = np.stack([roll_features(notes, n) for notes, n in list(real) + list(generated)])
        labels = np.r_[np.ones(len(real)), np.zeros(len(generated))]
        pipeline = make_pipeline(StandardScaler(), LogisticRegression(C=regularisation, max_iter=5000))
        auc = cross_val_score(pipeline, features, labels, scoring="roc_auc",
                              cv=StratifiedKFold(folds, shuffle=True, random_state=seed))
        pipeline.fit(features, labels)
        scaler, regression = pipeline[0], pipeline[1]
        info = {"real_clips": len(real), "generated_clips": len(generated), "regularisation": float(regularisation),
                "cross_validated_auc": round(float(auc.mean()), 4)}
        return cls(scaler.mean_, scaler.scale_, regression.coef_[0], regression.intercept_[0], info)

    def logits(self, clips) -> np.ndarray:
        """float64 ``(len(clips),)``: each clip's logit (clips: a list of ``(notes, n_steps)``)."""
        if not len(clips):
            return np.zeros(0)
        features = np.stack([roll_features(notes, n) for notes, n in clips])
        return (features - self.mean) / self.scale @ self.coef + self.intercept

    def score(self, notes, n_steps) -> float:
        """Minus the logit of one clip: lower is more like the data (`generate.rule_critic.best_of_candidates`)."""
        return float(-self.logits([(notes, n_steps)])[0])

    def save(self, path) -> Path:
        """Write the critic as JSON, atomically; returns the path."""
        return atomic_write_json(path, {"features": list(FEATURE_NAMES), "mean": self.mean.tolist(),
                                        "scale": self.scale.tolist(), "coef": self.coef.tolist(),
                                        "intercept": self.intercept, "info": self.info})

    @classmethod
    def load(cls, path):
        """Read a critic written by `save`.

        Raises:
            ParameterError: naming the path, if the file is missing or unreadable, or was written for
                other features (then refit with ``python -m generate.fit_critic``).
        """
        payload = read_json_mapping(path, "Critic file")
        if payload.get("features") != list(FEATURE_NAMES):
            raise ParameterError(f"The critic was fitted on other features; refit it with python -m "
                                 f"generate.learned_critic. Received: path={str(path)!r}")
        try:
            return cls(payload["mean"], payload["scale"], payload["coef"], payload["intercept"], payload.get("info"))
        except (KeyError, TypeError, ValueError) as err:
            raise ParameterError(f"Critic file is malformed ({err!r}). Received: path={str(path)!r}") from err


def training_clips(data_dir):
    """The training split of a score-roll data set as ``(notes, n_steps)``, in the key the network sees
    (`evaluation.symbolic.dataset_clips` with ``written_key=False``).

    Raises:
        ParameterError: if the folder is not a score-roll data set or has no training clip.
    """
    return dataset_clips(data_dir, "train", written_key=False)[0]
