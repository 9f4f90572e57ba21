"""The registry of representations: name -> transform class and config section, and how a config builds one.

| name          | transform class           | section settings     | rows                  | inverse                          |
|---------------|---------------------------|----------------------|-----------------------|----------------------------------|
| ``log_stft``  | `LogSpectrogramExtractor` | `LogStftSettings`    | n_fft // 2 bins, dB   | fast Griffin-Lim                 |
| ``mel``       | `MelSpectrogramExtractor` | `MelSettings`        | n_mels bands, dB      | NNLS or pseudo-inverse, then GL  |
| ``mdct``      | `MdctTransform`           | `MdctSettings`       | frame_length // 2     | exact inverse MDCT               |
| ``piano_roll``| `PianoRollTransform`      | `PianoRollSettings`  | pitches (MIDI input)  | MIDI file, rendered by FluidSynth|
| ``score_roll``| `ScoreRollTransform`      | `ScoreRollSettings`  | pitches x steps x 2   | notes, MIDI, FluidSynth          |

Every transform implements `preprocessing.transform.Transform`, owns both
directions and is saved beside the dataset and every model trained on it
(`preprocessing.transform_io`), so the inverse always uses the forward's
parameters. Each representation's keys form one section of
`preprocessing.config.PreprocessConfig` (``log_stft:``, ``mel:``, ...): a frozen
dataclass whose fields are the transform's constructor arguments (the sample
rate is a shared key), with the flat names configs used before sections
(``mel_power``, ``mdct_scale``, ``roll_mode``, ...) as `common.config.FLAT_NAMES`.

A new representation is a `Transform` subclass in its own file, a settings
section and one `Representation` line in `REPRESENTATIONS` here.
"""

import dataclasses

from common.config import FLAT_NAMES, is_finite_number, is_int, require
from common.errors import ParameterError
from preprocessing.log_spectrogram import LogSpectrogramExtractor
from preprocessing.mdct import MdctTransform
from preprocessing.mel_spectrogram import MelSpectrogramExtractor
from preprocessing.piano_roll import PianoRollTransform
from preprocessing.score_roll import DEFAULT_HIGHEST_PITCH, DEFAULT_LOWEST_PITCH, ScoreRollTransform

MDCT_SCALE_PERCENTILE = 99.9  # `MdctSettings.fitted`: the percentile of |coefficients| taken as the scale


class TransformSettings:
    """What every config section offers the pipeline (mixed into each section's frozen dataclass)."""

    def transform_arguments(self) -> dict:
        """The transform's constructor arguments besides ``sample_rate``: every field under its own name."""
        return dataclasses.asdict(self)

    @property
    def needs_fitting(self) -> bool:
        """Whether a data set statistic is still to be fitted on train files (`fitted`) before the transform is used."""
        return False

    def fitted(self, transform, signals):
        """These settings with their data set statistics fitted on ``signals`` (1-D float arrays) by ``transform``."""
        return self


@dataclasses.dataclass(frozen=True)
class _StftSettings(TransformSettings):
    """The STFT keys the log-STFT and mel sections share (validated here for both, as the flat config did).

    Attributes:
        n_fft: samples, the FFT size, even; the log-STFT keeps n_fft // 2 bins.
        win_length: samples, the frame (window) size, hop_length <= win_length <= n_fft.
        hop_length: samples between STFT frames.
        amin: linear magnitude floor, dB floor = 20*log10(amin).
    Raises:
        ParameterError: naming the key (``Config key 'n_fft' must be even. Received: n_fft=1023``).
    """

    n_fft: int = 1024
    win_length: int = 1024
    hop_length: int = 256
    amin: float = 1e-4

    def __post_init__(self):
        for name in ("n_fft", "win_length", "hop_length"):
            value = getattr(self, name)
            require(is_int(value) and value > 0, "must be a positive integer", name, value)
        require(self.n_fft % 2 == 0, "must be even", "n_fft", self.n_fft)
        require(self.win_length <= self.n_fft, f"must be <= n_fft ({self.n_fft})", "win_length", self.win_length)
        require(self.hop_length <= self.win_length, f"must be <= win_length ({self.win_length})", "hop_length",
                self.hop_length)
        require(is_finite_number(self.amin) and self.amin > 0, "must be a finite number > 0", "amin", self.amin)


@dataclasses.dataclass(frozen=True)
class LogStftSettings(_StftSettings):
    """The ``log_stft:`` section: `LogSpectrogramExtractor`'s keys (those of `_StftSettings`)."""


@dataclasses.dataclass(frozen=True)
class MelSettings(_StftSettings):
    """The ``mel:`` section: `MelSpectrogramExtractor`'s keys.

    Attributes:
        n_fft, win_length, hop_length, amin: as in `_StftSettings`.
        n_mels: bands (rows).
        fmin, fmax: Hz, the band edges (fmax None: Nyquist).
        power: the magnitude exponent (2 = power); flat name ``mel_power``.
        htk: the HTK (True) or Slaney (False) mel scale.
        norm: filter normalisation, "slaney" or None; flat name ``mel_norm``.
        inverse: "nnls" or "pinv"; flat name ``mel_inverse``.
    The transform checks these (`MelSpectrogramExtractor`) when the section is the chosen one.
    """

    n_mels: int = 128
    fmin: float = 0.0
    fmax: float | None = None
    power: float = dataclasses.field(default=2.0, metadata={FLAT_NAMES: ("mel_power",)})
    htk: bool = False
    norm: str | None = dataclasses.field(default="slaney", metadata={FLAT_NAMES: ("mel_norm",)})
    inverse: str = dataclasses.field(default="nnls", metadata={FLAT_NAMES: ("mel_inverse",)})


@dataclasses.dataclass(frozen=True)
class MdctSettings(TransformSettings):
    """The ``mdct:`` section: `MdctTransform`'s keys.

    Attributes:
        frame_length: samples (hop = frame_length // 2).
        window_type: "vorbis" or "kaiser_bessel_derived"; flat name ``mdct_window``.
        compander: "power", "mu_law" or "none"; power_exponent, mu: their parameters.
        scale: the coefficient scale, > 0, or None: fitted by the pipeline as the
            `MDCT_SCALE_PERCENTILE` (99.9th) percentile of |coefficients| over up to 32
            train files (`fitted`); flat name ``mdct_scale``.
    Raises:
        ParameterError: naming the key, if ``scale`` is neither None nor > 0 (the
            transform checks the rest when the section is the chosen one).
    """

    frame_length: int = 1024
    window_type: str = dataclasses.field(default="vorbis", metadata={FLAT_NAMES: ("mdct_window",)})
    compander: str = "power"
    power_exponent: float = 0.5
    mu: float = 255.0
    scale: float | None = dataclasses.field(default=None, metadata={FLAT_NAMES: ("mdct_scale",)})

    def __post_init__(self):
        require(self.scale is None or (is_finite_number(self.scale) and self.scale > 0),
                "must be null (fitted) or a number > 0", "scale", self.scale)

    def transform_arguments(self) -> dict:
        """The constructor arguments; a scale still to be fitted is 1.0 meanwhile."""
        return {**dataclasses.asdict(self), "scale": 1.0 if self.scale is None else self.scale}

    @property
    def needs_fitting(self) -> bool:
        """True while ``scale`` is None."""
        return self.scale is None

    def fitted(self, transform, signals):
        """These settings with ``scale`` = `MdctTransform.fit_scale` (``signals``, `MDCT_SCALE_PERCENTILE`)."""
        return dataclasses.replace(self, scale=float(transform.fit_scale(signals, MDCT_SCALE_PERCENTILE).scale))


@dataclasses.dataclass(frozen=True)
class PianoRollSettings(TransformSettings):
    """The ``piano_roll:`` section: `PianoRollTransform`'s keys.

    Attributes:
        frames_per_second: roll frames per second (sample_rate / frames_per_second whole).
        mode: "velocity" or "binary"; flat name ``roll_mode``.
        min_pitch, max_pitch: the MIDI pitches of the first and last rows.
        program: the General MIDI program the inverse renders with (19 = church organ).
    """

    frames_per_second: float = 62.5
    mode: str = dataclasses.field(default="velocity", metadata={FLAT_NAMES: ("roll_mode",)})
    min_pitch: int = 0
    max_pitch: int = 127
    program: int = 19


@dataclasses.dataclass(frozen=True)
class ScoreRollSettings(TransformSettings):
    """The ``score_roll:`` section: `ScoreRollTransform`'s keys.

    Attributes:
        steps_per_quarter: grid steps per quarter note (4: sixteenths), read from the MIDI ticks.
        lowest_pitch, highest_pitch: the MIDI pitches of the first and last rows (default
            36-83, the chorales' range; a multiple of 8 rows). Not the piano roll's
            ``min_pitch``/``max_pitch``: a flat key sets every section that has it, and the
            flat ``min_pitch: 0`` of every saved piano-roll config must not reach this one.
        tempo_bpm: quarter notes per minute of the inverse, and of the conversion of the
            shared ``clip_duration_s``/``clip_hop_s`` to steps (120: 8.0 s = 64 sixteenths).
        program: the General MIDI program the inverse renders with (19 = church organ).
        onset_threshold, sustain_threshold, orphan_min_steps: the decoder's rule
            (`preprocessing.note_grid.roll_to_notes`).
        key_normalisation: transpose every piece to C major or A minor before its roll is
            made (`preprocessing.keys`; the key from the chorales manifest's ``tonic`` and
            ``mode``, else music21's analysis of the MIDI); each clip's shift is the manifest
            column ``transposition``. False (default): the pieces as written.
        voices: null (default: every part merged into one onset/sustain pair of channels) or a
            list of 1 to 8 MIDI part names (``[Soprano, Alto, Tenor, Bass]``), matched
            case-insensitively: each voice in a pair of channels of its own, decoded to one
            pitch per step (`ScoreRollTransform`); a file without one of them is skipped.
    The transform checks these when the section is the chosen one.
    """

    steps_per_quarter: int = 4
    lowest_pitch: int = DEFAULT_LOWEST_PITCH
    highest_pitch: int = DEFAULT_HIGHEST_PITCH
    tempo_bpm: float = 120.0
    program: int = 19
    onset_threshold: float = 0.5
    sustain_threshold: float = 0.5
    orphan_min_steps: int | None = None
    key_normalisation: bool = False
    voices: tuple[str, ...] | None = None


@dataclasses.dataclass(frozen=True)
class Representation:
    """One registered representation.

    Attributes:
        name: its config name (``representation: <name>``) and section key.
        transform: its `preprocessing.transform.Transform` subclass, built as
            ``transform(sample_rate, **settings.transform_arguments())``.
        settings: its section's frozen dataclass (a `TransformSettings`).
    """

    name: str
    transform: type
    settings: type


REPRESENTATIONS = {
    entry.name: entry
    for entry in (
        Representation("log_stft", LogSpectrogramExtractor, LogStftSettings),
        Representation("mel", MelSpectrogramExtractor, MelSettings),
        Representation("mdct", MdctTransform, MdctSettings),
        Representation("piano_roll", PianoRollTransform, PianoRollSettings),
        Representation("score_roll", ScoreRollTransform, ScoreRollSettings),
    )
}


def representation(name) -> Representation:
    """The registered `Representation` called ``name``.

    Raises:
        ParameterError: for a name that is not registered (listing those that are).
    """
    if name not in REPRESENTATIONS:
        raise ParameterError(f"Unknown representation (known: {', '.join(REPRESENTATIONS)}). Received: representation={name!r}")
    return REPRESENTATIONS[name]


def representation_name(transform) -> str:
    """The registered name of ``transform``'s class ("log_stft", ...).

    Raises:
        ParameterError: if its class is not registered.
    """
    for entry in REPRESENTATIONS.values():
        if type(transform) is entry.transform:
            return entry.name
    raise ParameterError(f"The transform's class is not a registered representation. Received: class={type(transform).__name__!r}")


def with_sections(cls):
    """Class decorator (under ``@dataclasses.dataclass``): one section field per representation.

    Adds the field ``<name>: <settings>`` with the section's defaults, for every
    entry of `REPRESENTATIONS`, after the fields ``cls`` declares.
    """
    for entry in REPRESENTATIONS.values():
        cls.__annotations__[entry.name] = entry.settings
        setattr(cls, entry.name, dataclasses.field(default_factory=entry.settings))
    return cls


def build_transform(config, **changes):
    """The transform a `preprocessing.config.PreprocessConfig` describes.

    Only the section of the chosen ``config.representation`` is used;
    ``changes`` override constructor arguments (e.g. a fitted MDCT ``scale``).

    Raises:
        ParameterError: for an unknown representation, or a value its transform refuses
            (the message names the argument).
    """
    entry = representation(config.representation)
    arguments = getattr(config, entry.name).transform_arguments()
    arguments.update(changes)
    return entry.transform(config.sample_rate, **arguments)
