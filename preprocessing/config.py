"""`PreprocessConfig`: every setting of the preprocessing pipeline, validated once."""

import dataclasses
import math

from common.errors import ParameterError
from preprocessing.representations import MIDI_REPRESENTATIONS, REPRESENTATIONS, build_transform
from preprocessing.sources import LABEL_AUTO, SOURCES


def _require(condition, message, name, value):
    if not condition:
        raise ParameterError(f"Config key '{name}' {message}. Received: {name}={value!r}")


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


@dataclasses.dataclass(frozen=True)
class PreprocessConfig:
    """Settings for `preprocessing.pipeline.PreprocessingPipeline`; load with `common.config.load_config`.

    Attributes:
        source: "chorales", "gtzan" or "folder" (see `preprocessing.sources`).
        input_dir: folder the source is read from.
        genres: gtzan only: genre names to use; empty means all.
        output_dir: folder the dataset is written to (see `preprocessing.saver`).
        sample_rate: Hz; every file is resampled to it (piano_roll: the rendering rate).
        representation: "log_stft", "mel", "mdct" or "piano_roll" (see
            `preprocessing.representations`); only its own keys below are used.
        n_fft: log_stft, mel: samples, the FFT size; log_stft keeps n_fft // 2 bins.
        win_length: log_stft, mel: samples, the frame (window) size, hop_length <= win_length <= n_fft.
        hop_length: log_stft, mel: samples between STFT frames.
        amin: log_stft, mel: linear magnitude floor, dB floor = 20*log10(amin).
        n_mels, fmin, fmax, mel_power, htk, mel_norm, mel_inverse: mel: bands, band
            edges in Hz (fmax null = Nyquist), magnitude exponent (2 = power), HTK
            (true) or Slaney (false) mel scale, filter normalisation ("slaney" or
            null), inverse "nnls" or "pinv" (see `MelSpectrogramExtractor`).
        frame_length, mdct_window, compander, power_exponent, mu, mdct_scale: mdct:
            frame length in samples (hop = frame_length // 2), "vorbis" or
            "kaiser_bessel_derived", "power" / "mu_law" / "none", their
            parameters, and the coefficient scale (null: fitted as the 99.9th
            percentile of |coefficients| over up to 32 train files; see `MdctTransform`).
        frames_per_second, roll_mode, min_pitch, max_pitch, program: piano_roll:
            frames per second (sample_rate / frames_per_second must be whole),
            "velocity" or "binary", the MIDI pitch range of the rows, and the General
            MIDI program the inverse renders with (19 = church organ).
        clip_duration_s: seconds per clip; clip_samples = round(clip_duration_s * sample_rate);
            n_frames = the transform's ``frames_for(clip_samples)`` (log_stft at 16 kHz,
            hop 256: 3.072 s gives 192 frames, divisible by 2**6 as the U-Nets need;
            mdct: (n_frames - 1) * hop samples give n_frames frames).
        clip_hop_s: seconds between clip starts; None means clip_duration_s (no overlap).
        offset_s: seconds skipped at the start of every file.
        max_duration_s: seconds read per file at most (after offset_s); None = all.
        min_tail_fraction: in [0, 1]; the last partial clip is zero-padded and kept
            if it holds at least this fraction of a clip, else dropped.
        silence_threshold_db: dBFS <= 0; a clip whose peak |sample| is below it is dropped.
        validation_fraction, test_fraction: in [0, 1), sum < 1; gtzan/folder hash split.
        split_seed: int seeding the hash split.
        num_workers: processes decoding files in parallel; 1 = in-process.
        label: the class label of each clip (manifest column ``label``): "auto"
            (chorales: the ``mode`` column of the recipe's manifest, major or
            minor; gtzan: the genre; folder: the parent folder), for the
            chorales the name of another column of the recipe's manifest
            (``key``, ``tonic``, ...), or None for none (see `preprocessing.sources`).
        captions_file: None, or a CSV with columns ``file,caption`` (``file``
            relative to input_dir or absolute) that gives each file's caption
            (manifest column ``caption``; a file not listed gets ""); None
            composes captions from the metadata (`preprocessing.captions`).

    Raises:
        ParameterError: naming the key, if a value is out of range.
    """

    source: str = "chorales"
    input_dir: str = "data/chorales"
    genres: tuple[str, ...] = ()
    output_dir: str = "data/chorales_stft"
    sample_rate: int = 16000
    representation: str = "log_stft"
    n_fft: int = 1024
    win_length: int = 1024
    hop_length: int = 256
    amin: float = 1e-4
    n_mels: int = 128
    fmin: float = 0.0
    fmax: float | None = None
    mel_power: float = 2.0
    htk: bool = False
    mel_norm: str | None = "slaney"
    mel_inverse: str = "nnls"
    frame_length: int = 1024
    mdct_window: str = "vorbis"
    compander: str = "power"
    power_exponent: float = 0.5
    mu: float = 255.0
    mdct_scale: float | None = None
    frames_per_second: float = 62.5
    roll_mode: str = "velocity"
    min_pitch: int = 0
    max_pitch: int = 127
    program: int = 19
    clip_duration_s: float = 3.072
    clip_hop_s: float | None = None
    offset_s: float = 0.0
    max_duration_s: float | None = None
    min_tail_fraction: float = 0.5
    silence_threshold_db: float = -60.0
    validation_fraction: float = 0.1
    test_fraction: float = 0.1
    split_seed: int = 0
    num_workers: int = 2
    label: str | None = LABEL_AUTO
    captions_file: str | None = None

    def __post_init__(self):
        _require(self.source in SOURCES, f"must be one of {', '.join(SOURCES)}", "source", self.source)
        _require(
            self.label is None or (isinstance(self.label, str) and self.label != ""),
            f"must be {LABEL_AUTO!r}, null or a column name of the chorales manifest",
            "label",
            self.label,
        )
        _require(
            self.label in (None, LABEL_AUTO) or self.source == "chorales",
            f"names a chorales manifest column, so it is only used with source: chorales (else {LABEL_AUTO!r} or null)",
            "label",
            self.label,
        )
        _require(
            self.captions_file is None or (isinstance(self.captions_file, str) and self.captions_file != ""),
            "must be null or the path of a CSV with columns file,caption",
            "captions_file",
            self.captions_file,
        )
        for name in ("input_dir", "output_dir"):
            value = getattr(self, name)
            _require(isinstance(value, str) and value != "", "must be a non-empty path", name, value)
        _require(
            isinstance(self.genres, tuple) and all(isinstance(g, str) and g for g in self.genres),
            "must be a list of genre names",
            "genres",
            self.genres,
        )
        _require(not self.genres or self.source == "gtzan", "is only used with source: gtzan", "genres", self.genres)
        for name in ("sample_rate", "n_fft", "win_length", "hop_length", "num_workers"):
            value = getattr(self, name)
            _require(_is_int(value) and value > 0, "must be a positive integer", name, value)
        _require(self.n_fft % 2 == 0, "must be even", "n_fft", self.n_fft)
        _require(self.win_length <= self.n_fft, f"must be <= n_fft ({self.n_fft})", "win_length", self.win_length)
        _require(
            self.hop_length <= self.win_length,
            f"must be <= win_length ({self.win_length})",
            "hop_length",
            self.hop_length,
        )
        _require(_is_int(self.split_seed), "must be an integer", "split_seed", self.split_seed)
        for name in ("amin", "clip_duration_s"):
            value = getattr(self, name)
            _require(_is_number(value) and value > 0, "must be a finite number > 0", name, value)
        for name in ("clip_hop_s", "max_duration_s"):
            value = getattr(self, name)
            _require(value is None or (_is_number(value) and value > 0), "must be null or a number > 0", name, value)
        _require(_is_number(self.offset_s) and self.offset_s >= 0, "must be a number >= 0", "offset_s", self.offset_s)
        _require(
            _is_number(self.min_tail_fraction) and 0 <= self.min_tail_fraction <= 1,
            "must be in [0, 1]",
            "min_tail_fraction",
            self.min_tail_fraction,
        )
        _require(
            _is_number(self.silence_threshold_db) and self.silence_threshold_db <= 0,
            "must be a number <= 0 (dBFS)",
            "silence_threshold_db",
            self.silence_threshold_db,
        )
        for name in ("validation_fraction", "test_fraction"):
            value = getattr(self, name)
            _require(_is_number(value) and 0 <= value < 1, "must be in [0, 1)", name, value)
        _require(
            self.validation_fraction + self.test_fraction < 1,
            f"plus validation_fraction ({self.validation_fraction}) must be < 1",
            "test_fraction",
            self.test_fraction,
        )
        _require(
            self.representation in REPRESENTATIONS,
            f"must be one of {', '.join(REPRESENTATIONS)}",
            "representation",
            self.representation,
        )
        _require(
            self.representation not in MIDI_REPRESENTATIONS or self.source in ("chorales", "folder"),
            "reads MIDI files, which the chorales recipe and folders of .mid files have",
            "source",
            self.source,
        )
        _require(
            self.mdct_scale is None or (_is_number(self.mdct_scale) and self.mdct_scale > 0),
            "must be null (fitted) or a number > 0",
            "mdct_scale",
            self.mdct_scale,
        )
        build_transform(self)  # the transform validates its own keys, naming them
        _require(
            self.n_frames >= 1,
            f"must hold at least one frame of the {self.representation} transform",
            "clip_duration_s",
            self.clip_duration_s,
        )
        _require(
            self.clip_hop_samples >= 1,
            f"must be at least one sample at {self.sample_rate} Hz",
            "clip_hop_s",
            self.clip_hop_s,
        )

    @property
    def clip_samples(self) -> int:
        """Samples per clip, ``round(clip_duration_s * sample_rate)``."""
        return int(round(self.clip_duration_s * self.sample_rate))

    @property
    def clip_hop_samples(self) -> int:
        """Samples between clip starts (``clip_samples`` when ``clip_hop_s`` is None)."""
        if self.clip_hop_s is None:
            return self.clip_samples
        return int(round(self.clip_hop_s * self.sample_rate))

    @property
    def n_frames(self) -> int:
        """Frames per clip, the transform's ``frames_for(clip_samples)``."""
        return build_transform(self).frames_for(self.clip_samples)
