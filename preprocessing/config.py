"""`PreprocessConfig`: every setting of the preprocessing pipeline, validated once."""

import dataclasses
import math

from common.errors import ParameterError
from preprocessing.sources import SOURCES


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
        sample_rate: Hz; every file is resampled to it.
        n_fft: samples, the FFT size; spectrograms have n_fft // 2 bins.
        win_length: samples, the frame (window) size, hop_length <= win_length <= n_fft.
        hop_length: samples between STFT frames.
        amin: linear magnitude floor, dB floor = 20*log10(amin).
        clip_duration_s: seconds per clip; clip_samples = round(clip_duration_s * sample_rate),
            n_frames = clip_samples // hop_length (3.072 s at 16 kHz, hop 256: 192 frames,
            divisible by 2**6 as the U-Nets need).
        clip_hop_s: seconds between clip starts; None means clip_duration_s (no overlap).
        offset_s: seconds skipped at the start of every file.
        max_duration_s: seconds read per file at most (after offset_s); None = all.
        min_tail_fraction: in [0, 1]; the last partial clip is zero-padded and kept
            if it holds at least this fraction of a clip, else dropped.
        silence_threshold_db: dBFS <= 0; a clip whose peak |sample| is below it is dropped.
        validation_fraction, test_fraction: in [0, 1), sum < 1; gtzan/folder hash split.
        split_seed: int seeding the hash split.
        num_workers: processes decoding files in parallel; 1 = in-process.

    Raises:
        ParameterError: naming the key, if a value is out of range.
    """

    source: str = "chorales"
    input_dir: str = "data/chorales"
    genres: tuple[str, ...] = ()
    output_dir: str = "data/chorales_stft"
    sample_rate: int = 16000
    n_fft: int = 1024
    win_length: int = 1024
    hop_length: int = 256
    amin: float = 1e-4
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

    def __post_init__(self):
        _require(self.source in SOURCES, f"must be one of {', '.join(SOURCES)}", "source", self.source)
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
            self.n_frames >= 1,
            f"must hold at least one hop ({self.hop_length} samples at {self.sample_rate} Hz)",
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
        """STFT frames per clip, ``clip_samples // hop_length``."""
        return self.clip_samples // self.hop_length
