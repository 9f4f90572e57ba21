"""`Transform`: the one interface every representation's transform implements.

A transform owns both directions of one representation, as teticio's
audio-diffusion ``Mel`` does: `Transform.extract` (audio, or MIDI for the piano
rolls, to a float32 array ``(n_freq_bins, n_frames)``, or ``(n_freq_bins, n_frames,
n_channels)`` for a transform with several channels: `Transform.values_shape`) and
`Transform.invert` (that array back to audio), its frame grid (`Transform.frames_for` and
`Transform.samples_for`: the one place where frames and samples are converted),
how its values are drawn (`Transform.display`) and how its inverse is named in
messages (`Transform.inverse_name`), and its constructor arguments
(``get_config`` / ``from_config``, saved beside every data set and model as
``transform.json`` by `preprocessing.transform_io`).

A new representation subclasses `Transform` in a file of its own and is added to
the registry (`preprocessing.representations`); no other code asks which
transform it has.

Declared on the class:
    input_kind          `AUDIO` or `MIDI`: what `extract` reads (the pipeline reads
                        audio files or MIDI files accordingly).
    inverse_options     the names of the keyword options `invert` takes besides
                        ``length`` (`GriffinLimInverse.inverse_options` for the
                        Griffin-Lim transforms; none for the exact ones). Any other
                        option is refused, so a caller passes only the options that
                        apply (`Transform.applicable_options`).
    iterative_inverse   True if `invert` estimates phase iteratively (Griffin-Lim): its
                        time and memory grow with the input and its output depends on
                        ``random_state``, so long inputs are inverted in blocks
                        (`generate.long_form.invert`).
    n_channels          1 (default): values are 2-D ``(n_freq_bins, n_frames)``; k > 1:
                        3-D ``(n_freq_bins, n_frames, k)``, channels last (the score
                        roll's onsets and sustain, `preprocessing.score_roll`). A
                        transform whose channels depend on its arguments makes it a
                        property (the score roll: 2 per voice with ``voices``).

A transform whose grid is metrical also says where bars start (`Transform.bar_lines`),
and the pipeline starts its clips there.
"""

import abc

import numpy as np

from common.errors import ParameterError
from common.serializable import FromConfigMixin
from common.validation import positive_int

# Griffin-Lim iterations of every inverse and every CLI unless told otherwise: at 32 the
# spectral convergence of the default log-STFT is 0.068 in 0.41 s per 10 s of audio, at
# 100 it is 0.030 in 1.21 s (docs/REPRESENTATIONS.md, "Reconstruction").
GRIFFIN_LIM_ITERATIONS = 32

AUDIO = "audio"  # `Transform.input_kind`: extract reads audio signals
MIDI = "midi"  # `Transform.input_kind`: extract reads MIDI files (its inverse can also write them)
INPUT_KINDS = (AUDIO, MIDI)


class Transform(FromConfigMixin, abc.ABC):
    """A representation's transform: both directions, its frame grid, how it is shown, named and saved.

    Every subclass sets, in ``__init__``, ``sample_rate`` (int > 0, Hz: the rate of the
    audio it reads and of the audio `invert` returns) and ``hop_length`` (int > 0,
    samples between two frames), and implements `n_freq_bins`, `frames_for`,
    `extract`, `_invert`, `display`, `inverse_name` and ``get_config`` (every
    constructor argument under its own name, JSON-safe; ``from_config`` rebuilds it).
    The class attributes `input_kind`, `inverse_options`, `iterative_inverse` and
    `display_unit` are declared as the module docstring says.
    """

    input_kind = AUDIO
    inverse_options = ()
    iterative_inverse = False
    n_channels = 1
    display_unit = ""  # the colour bar's label for `display`'s values

    # === Shapes ===

    @property
    @abc.abstractmethod
    def n_freq_bins(self) -> int:
        """Rows of `extract`'s output (frequency bins, mel bands, coefficients or pitches)."""

    @abc.abstractmethod
    def frames_for(self, n_samples) -> int:
        """Frames `extract` returns for ``n_samples`` samples of audio (int >= 0)."""

    def values_shape(self, n_frames) -> tuple:
        """The shape of `extract`'s values for ``n_frames`` frames: ``(n_freq_bins, n_frames)``,
        or ``(n_freq_bins, n_frames, n_channels)`` when `n_channels` > 1.

        Raises:
            ParameterError: if ``n_frames`` is not a positive integer.
        """
        shape = (self.n_freq_bins, positive_int("n_frames", n_frames))
        return shape if self.n_channels == 1 else shape + (self.n_channels,)

    def bar_lines(self, source, n_frames, pickup_quarters=None):
        """Frames where bars start, or None (default): the transform's grid knows no bars.

        A transform on a metrical grid (`preprocessing.score_roll.ScoreRollTransform`)
        returns an ascending int array, the first at or before frame 0, from ``source``
        (what `extract` reads) and the score's pickup (``pickup_quarters``, quarter notes).
        """
        return None

    def samples_for(self, n_frames) -> int:
        """Samples of audio that give ``n_frames`` frames, and that `invert` returns by default.

        ``n_frames * hop_length`` here; a transform whose frames overlap the clip's
        ends differently overrides it (`preprocessing.mdct.MdctTransform`:
        ``(n_frames - 1) * hop_length``). ``frames_for(samples_for(n)) == n``.

        Raises:
            ParameterError: if ``n_frames`` is not a positive integer.
        """
        return positive_int("n_frames", n_frames) * self.hop_length

    def frames_covering(self, n_samples) -> int:
        """The fewest frames (at least 2) whose inverse holds at least ``n_samples`` samples.

        That is the least ``n >= 2`` with ``samples_for(n) >= n_samples``, searched
        upwards from ``ceil(n_samples / hop_length)``.

        Raises:
            ParameterError: if ``n_samples`` is not a positive integer.
        """
        n_samples = positive_int("n_samples", n_samples)
        frames = max(2, -(-n_samples // self.hop_length))
        while self.samples_for(frames) < n_samples:
            frames += 1
        return frames

    # === Forward ===

    @abc.abstractmethod
    def extract(self, source):
        """The representation of ``source``: float32 array of `values_shape` ``(n_freq_bins, n_frames[, n_channels])``.

        ``source`` is a 1-D float signal at ``sample_rate`` Hz for `AUDIO` transforms,
        a MIDI file (path, bytes or ``pretty_midi.PrettyMIDI``) for `MIDI` ones.
        """

    def extract_batch(self, signals) -> np.ndarray:
        """`extract` of several sources that give equal shapes, item by item (a transform may do it at once).

        Args:
            signals: a sequence of ``n >= 1`` sources `extract` takes (a 2-D float array
                ``(n, n_samples)`` of equal-length signals, for audio).
        Returns:
            float32 array ``(n, *values_shape(n_frames))``; item ``i`` equals ``extract(signals[i])``.
        """
        return np.stack([self.extract(signal) for signal in signals])

    # === Inverse ===

    def invert(self, values, *, length=None, **options) -> np.ndarray:
        """Audio whose representation approximates ``values`` (exactly, for an exact inverse).

        Args:
            values: real float array of `values_shape` ``(n_freq_bins, n_frames[, n_channels])``
                in the transform's own scale, as `extract` returns it (denormalised first
                if it was normalised).
            length: int > 0 or None: samples in the output; None gives
                ``samples_for(n_frames)``. The inverse is trimmed or zero-padded to it.
            **options: only the options in `inverse_options` (for Griffin-Lim:
                ``n_iter``, ``random_state``, ``momentum``, ``init``; see the
                transform's ``_invert``).
        Returns:
            float32 array ``(length,)`` at ``sample_rate`` Hz, nominally in [-1, 1].
        Raises:
            ParameterError: naming them, for options the transform does not declare;
                for values of the wrong shape or non-finite, or an option out of range.
        """
        self.check_inverse_options(options)
        return self._invert(values, length=length, **options)

    @abc.abstractmethod
    def _invert(self, values, length=None, **options) -> np.ndarray:
        """`invert` after its options were checked against `inverse_options`."""

    def check_inverse_options(self, options):
        """Raise ParameterError naming every key of ``options`` that is not in `inverse_options`."""
        unknown = [name for name in options if name not in self.inverse_options]
        if unknown:
            declared = ", ".join(self.inverse_options) or "none"
            received = ", ".join(f"{name}={options[name]!r}" for name in unknown)
            raise ParameterError(
                f"{type(self).__name__}'s inverse takes no option {', '.join(unknown)} (its options: {declared}). "
                f"Received: {received}"
            )

    def applicable_options(self, **options) -> dict:
        """The subset of ``options`` that `invert` takes (`inverse_options`), e.g. for a caller
        that holds Griffin-Lim settings whatever the transform."""
        return {name: value for name, value in options.items() if name in self.inverse_options}

    @abc.abstractmethod
    def inverse_name(self, **options) -> str:
        """How `invert` with ``options`` turns values into audio, for messages ("inverse MDCT").

        Raises:
            ParameterError: for options the transform does not declare.
        """

    # === Display ===

    @abc.abstractmethod
    def display(self, values):
        """``(values to show, keyword arguments)`` for ``librosa.display.specshow(shown, **kwargs)``.

        Args:
            values: float array of `values_shape` in the transform's own scale.
        Returns:
            The array to draw, ``(n_freq_bins, n_frames)``, and a dict with ``sr``,
            ``hop_length``, ``x_axis`` ("time") and the ``y_axis`` (with its
            frequency range) of the representation's rows. `display_unit` labels the values.
        """

    # === Config ===

    @abc.abstractmethod
    def get_config(self) -> dict:
        """Every constructor argument under its own name (JSON-safe)."""


class GriffinLimInverse:
    """The inverse options and name of the transforms whose inverse estimates phase with fast Griffin-Lim.

    Mixed into a `Transform` subclass before `Transform`. Its ``_invert`` takes
    ``n_iter`` (int > 0, default `GRIFFIN_LIM_ITERATIONS`), ``random_state`` (seed
    of the random initial phase), ``momentum`` and ``init`` (see
    `preprocessing.log_spectrogram.LogSpectrogramExtractor._invert`).

    References:
        Perraudin, Balazs, Sondergaard, "A fast Griffin-Lim algorithm", IEEE WASPAA 2013.
    """

    inverse_options = ("n_iter", "random_state", "momentum", "init")
    iterative_inverse = True

    def inverse_name(self, **options) -> str:
        """``"Griffin-Lim, <n_iter> iterations"``.

        Raises:
            ParameterError: for options the transform does not declare, or ``n_iter`` < 1.
        """
        self.check_inverse_options(options)
        return f"Griffin-Lim, {positive_int('n_iter', options.get('n_iter', GRIFFIN_LIM_ITERATIONS))} iterations"
