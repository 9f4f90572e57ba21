"""Turning model outputs (normalised spectrograms) back into audio, no louder than the training data."""

from common.errors import ParameterError
from generate.limiter import LoudnessLimiter
from generate.written_key import written
from preprocessing.codec import SpectrogramCodec
from preprocessing.transform import GRIFFIN_LIM_ITERATIONS
from train.run_folder import RunFolder


class SoundGenerator:
    """Denormalise, invert the representation's transform, and limit the level.

    The transform (forward and inverse) and the dataset-level normalisation
    statistics are the ones saved beside the trained model, paired in a
    `preprocessing.codec.SpectrogramCodec` (``codec``), so the inverse uses
    exactly the forward's parameters. `generate` then passes every clip through
    ``limiter`` (`generate.limiter.LoudnessLimiter`): a clip louder than the
    training clips (RMS above their 95th percentile) or peaking above -1 dBFS is
    scaled down, never up, and the gain is reported.

    Args:
        transform: a `preprocessing.transform.Transform` (e.g.
            `preprocessing.LogSpectrogramExtractor`: fast Griffin-Lim).
        normaliser: the dataset's `preprocessing.MinMaxNormaliser` ([0, 1] <-> the transform's values).
        n_iter: int >= 1, Griffin-Lim iterations, for transforms whose inverse takes
            them (more is slower and cleaner; default `GRIFFIN_LIM_ITERATIONS`, 32).
        limiter: a `LoudnessLimiter`; None: `LoudnessLimiter.fixed` (-18 dBFS RMS, -1 dBFS peak).
    Raises:
        ParameterError: if ``n_iter`` < 1.
    """

    def __init__(self, transform, normaliser, n_iter=GRIFFIN_LIM_ITERATIONS, limiter=None):
        if int(n_iter) < 1:
            raise ParameterError(f"n_iter must be >= 1. Received: n_iter={n_iter}")
        self.codec = SpectrogramCodec(transform, normaliser)
        self.n_iter = int(n_iter)
        self.limiter = LoudnessLimiter.fixed() if limiter is None else limiter

    @property
    def transform(self):
        """The codec's transform."""
        return self.codec.transform

    @property
    def normaliser(self):
        """The codec's normaliser."""
        return self.codec.normaliser

    @classmethod
    def from_model_dir(cls, model_dir, n_iter=GRIFFIN_LIM_ITERATIONS, data_dir=None):
        """Load the transform and the normaliser saved in a trained model's folder (`RunFolder.codec`).

        The limiter's ceiling comes from the level summary in the model's
        statistics, else in its data set's, else it is fixed (`LoudnessLimiter.for_model`).
        `generate.trained_model.TrainedModel` loads a run with its sound generator at once.

        Args:
            model_dir: a trained model folder (`train.run_folder.RunFolder`).
            n_iter: Griffin-Lim iterations.
            data_dir: the data set the model was trained on; None: the run's own
                (`RunFolder.spectrogram_data_dir`).
        Raises:
            ParameterError: if either file is missing or unreadable (the message names it), or
                as `RunFolder.spectrogram_data_dir` when ``data_dir`` is None.
        """
        run = RunFolder(model_dir)
        codec = run.codec()
        data_dir = run.spectrogram_data_dir() if data_dir is None else data_dir
        return cls(codec.transform, codec.normaliser, n_iter, LoudnessLimiter.for_model(run.path, data_dir))

    def _inverse_options(self, seed=0, n_iter=None) -> dict:
        """The inverse options the transform takes, of ``n_iter`` (default ``self.n_iter``) and ``seed``."""
        return self.transform.applicable_options(n_iter=self.n_iter if n_iter is None else n_iter, random_state=seed)

    def inverse_name(self) -> str:
        """How spectrograms become audio, for messages ("Griffin-Lim, 32 iterations", "inverse MDCT")."""
        return self.transform.inverse_name(**self.transform.applicable_options(n_iter=self.n_iter))

    def spectrogram_to_audio(self, spectrogram, seed=0, length=None, transposition=0):
        """One normalised spectrogram to audio, not limited (`generate` limits).

        Args:
            spectrogram: float array ``(n_freq_bins, n_frames)`` or ``(n_freq_bins, n_frames, 1)``,
                min-max normalised, nominally in [0, 1] (values outside are clipped).
            seed: seed of Griffin-Lim's random initial phase (reproducible output; unused by
                exact inverses).
            length: int > 0 or None: samples returned; None: the transform's ``samples_for(n_frames)``
                (``n_frames * hop_length`` for the STFT transforms and the piano roll).
            transposition: int, semitones the notes are moved by (a key-normalised score roll's key,
                `generate.written_key`); 0 for every other transform.
        Returns:
            float32 mono audio ``(length,)`` at the transform's ``sample_rate``, nominally in [-1, 1].
        Raises:
            ParameterError: for a wrong shape or non-finite values, or a ``transposition`` other than 0
                for a transform that does not take one.
        """
        options = self._inverse_options(seed)
        if transposition:  # refused by a transform without the option (check_inverse_options)
            options["transposition"] = int(transposition)
        return self.codec.to_audio(spectrogram, length=length, **options)

    def warm_up(self, spectrogram):
        """Invert one spectrogram as `generate` will (the run's Griffin-Lim iterations) and throw the audio away.

        The first inversion in a process traces the Griffin-Lim graph of this grid and iteration
        count (`preprocessing.griffin_lim`; a 1-iteration warm-up traced another graph, and the
        batch then paid for tracing its own inside the warm figure), compiles librosa's numba
        functions or loads them from their on-disk cache (log-STFT, 2-core CPU: 12 s with an empty
        cache, 0.9 s from it) and, for a piano roll, loads the soundfont; after this, `generate`
        runs at its steady-state speed.

        Args:
            spectrogram: a normalised spectrogram as `spectrogram_to_audio` takes.
        Raises:
            ParameterError: as `spectrogram_to_audio`.
        """
        self.codec.to_audio(spectrogram, **self._inverse_options(seed=0))

    def generate(self, spectrograms, seeds=None, return_limits=False, transpositions=None):
        """Generated spectrograms to audio, each clip limited to the training data's level.

        Args:
            spectrograms: float array ``(batch, n_freq_bins, n_frames[, 1])``, normalised
                (see `spectrogram_to_audio`).
            seeds: one int per clip, its Griffin-Lim seed (default ``0..batch-1``).
            return_limits: also return what the limiter did to each clip.
            transpositions: one int per clip, semitones its notes are moved by (`spectrogram_to_audio`),
                or None: all 0.
        Returns:
            list of float32 arrays ``(n_samples,)``, each with RMS level <= ``limiter.rms_ceiling_dbfs``
            and peak <= ``limiter.peak_ceiling_dbfs`` in dBFS, or left as inverted when already
            below both; with ``return_limits``, ``(audio, limits)`` with one
            `generate.limiter.LevelLimit` per clip.
        Raises:
            ParameterError: for a wrong shape or non-finite values.
        """
        seeds = range(len(spectrograms)) if seeds is None else seeds
        transpositions = [0] * len(spectrograms) if transpositions is None else transpositions
        results = [self.limiter.apply(self.spectrogram_to_audio(s, seed=int(seed), **written(transposition)))
                   for s, seed, transposition in zip(spectrograms, seeds, transpositions)]
        audio = [clip for clip, _ in results]
        return (audio, [limit for _, limit in results]) if return_limits else audio
