"""`PreprocessConfig`: every setting of the preprocessing pipeline, validated once.

Shared keys (source, folders, sample rate, clip slicing, splits, labels) plus one
section per representation (``log_stft:``, ``mel:``, ``mdct:``, ``piano_roll:``, ``score_roll:``;
`preprocessing.representations`). A config written before there were sections,
with every key flat (``n_fft: 1024``, ``mel_power: 2.0``, ``mdct_scale: null``;
every data set's saved ``config.yaml``), loads to the same config: a flat key sets
that key in every section that has it (`common.config.load_config`).
"""

import dataclasses
import functools

from common.config import is_finite_number, is_int, require
from preprocessing.representations import REPRESENTATIONS, build_transform, with_sections
from preprocessing.sources import LABEL_AUTO, SOURCES
from preprocessing.transform import MIDI

MIDI_SOURCES = ("chorales", "folder")  # the sources that give MIDI files (a MIDI transform's input)


@dataclasses.dataclass(frozen=True)
@with_sections
class PreprocessConfig:
    """Settings for `preprocessing.pipeline.PreprocessingPipeline`; load with `common.config.load_config`.

    Attributes:
        source: "chorales", "gtzan" or "folder" (see `preprocessing.sources`).
        input_dir: folder the source is read from.
        genres: gtzan only: genre names to use; empty means all.
        output_dir: folder the dataset is written to (see `preprocessing.dataset_folder`).
        sample_rate: Hz; every file is resampled to it (piano_roll: the rendering rate).
        representation: "log_stft", "mel", "mdct", "piano_roll" or "score_roll" (see
            `preprocessing.representations`); only its own section is used.
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
        log_stft: `preprocessing.representations.LogStftSettings`: n_fft, win_length,
            hop_length (samples), amin (linear magnitude floor).
        mel: `preprocessing.representations.MelSettings`: the STFT keys, n_mels,
            fmin, fmax (Hz; null = Nyquist), power (flat: mel_power), htk, norm
            (flat: mel_norm), inverse (flat: mel_inverse).
        mdct: `preprocessing.representations.MdctSettings`: frame_length, window_type
            (flat: mdct_window), compander, power_exponent, mu, scale (flat:
            mdct_scale; null: fitted on up to 32 train files).
        piano_roll: `preprocessing.representations.PianoRollSettings`:
            frames_per_second, mode (flat: roll_mode), min_pitch, max_pitch, program.
        score_roll: `preprocessing.representations.ScoreRollSettings`: steps_per_quarter,
            lowest_pitch, highest_pitch, tempo_bpm, program, onset_threshold, sustain_threshold,
            orphan_min_steps, key_normalisation, voices (null: parts merged; a list of part names:
            one pair of channels per voice). Its clips are ``clip_duration_s`` at ``tempo_bpm`` (8.0 s at
            120 bpm: 64 sixteenths) and start on bar lines.

    Raises:
        ParameterError: naming the key, if a value is out of range.
    """

    source: str = "chorales"
    input_dir: str = "data/chorales"
    genres: tuple[str, ...] = ()
    output_dir: str = "data/chorales_stft"
    sample_rate: int = 16000
    representation: str = "log_stft"
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
    # then one section per representation (`with_sections`): log_stft, mel, mdct, piano_roll, score_roll

    def __post_init__(self):
        self._check_inputs()
        self._check_clips_and_splits()
        self._check_representation()

    def _check_inputs(self):
        """The source, its folders, genres, labels and captions."""
        require(self.source in SOURCES, f"must be one of {', '.join(SOURCES)}", "source", self.source)
        require(
            self.label is None or (isinstance(self.label, str) and self.label != ""),
            f"must be {LABEL_AUTO!r}, null or a column name of the chorales manifest",
            "label",
            self.label,
        )
        require(
            self.label in (None, LABEL_AUTO) or self.source == "chorales",
            f"names a chorales manifest column, so it is only used with source: chorales (else {LABEL_AUTO!r} or null)",
            "label",
            self.label,
        )
        require(
            self.captions_file is None or (isinstance(self.captions_file, str) and self.captions_file != ""),
            "must be null or the path of a CSV with columns file,caption",
            "captions_file",
            self.captions_file,
        )
        for name in ("input_dir", "output_dir"):
            value = getattr(self, name)
            require(isinstance(value, str) and value != "", "must be a non-empty path", name, value)
        require(
            isinstance(self.genres, tuple) and all(isinstance(g, str) and g for g in self.genres),
            "must be a list of genre names",
            "genres",
            self.genres,
        )
        require(not self.genres or self.source == "gtzan", "is only used with source: gtzan", "genres", self.genres)

    def _check_clips_and_splits(self):
        """The sample rate, workers, clip slicing, silence threshold and split fractions."""
        for name in ("sample_rate", "num_workers"):
            value = getattr(self, name)
            require(is_int(value) and value > 0, "must be a positive integer", name, value)
        require(is_int(self.split_seed), "must be an integer", "split_seed", self.split_seed)
        require(
            is_finite_number(self.clip_duration_s) and self.clip_duration_s > 0,
            "must be a finite number > 0",
            "clip_duration_s",
            self.clip_duration_s,
        )
        for name in ("clip_hop_s", "max_duration_s"):
            value = getattr(self, name)
            require(value is None or (is_finite_number(value) and value > 0), "must be null or a number > 0", name, value)
        require(is_finite_number(self.offset_s) and self.offset_s >= 0, "must be a number >= 0", "offset_s", self.offset_s)
        require(
            is_finite_number(self.min_tail_fraction) and 0 <= self.min_tail_fraction <= 1,
            "must be in [0, 1]",
            "min_tail_fraction",
            self.min_tail_fraction,
        )
        require(
            is_finite_number(self.silence_threshold_db) and self.silence_threshold_db <= 0,
            "must be a number <= 0 (dBFS)",
            "silence_threshold_db",
            self.silence_threshold_db,
        )
        for name in ("validation_fraction", "test_fraction"):
            value = getattr(self, name)
            require(is_finite_number(value) and 0 <= value < 1, "must be in [0, 1)", name, value)
        require(
            self.validation_fraction + self.test_fraction < 1,
            f"plus validation_fraction ({self.validation_fraction}) must be < 1",
            "test_fraction",
            self.test_fraction,
        )

    def _check_representation(self):
        """The representation, its sections, its input against the source, and its frames per clip."""
        require(
            self.representation in REPRESENTATIONS,
            f"must be one of {', '.join(REPRESENTATIONS)}",
            "representation",
            self.representation,
        )
        for name, entry in REPRESENTATIONS.items():
            require(isinstance(getattr(self, name), entry.settings), f"must be a mapping of {name} keys", name,
                    getattr(self, name))
        require(
            REPRESENTATIONS[self.representation].transform.input_kind != MIDI or self.source in MIDI_SOURCES,
            "reads MIDI files, which the chorales recipe and folders of .mid files have",
            "source",
            self.source,
        )
        # n_frames builds the transform once: it validates its own keys, naming them
        require(
            self.n_frames >= 1,
            f"must hold at least one frame of the {self.representation} transform",
            "clip_duration_s",
            self.clip_duration_s,
        )
        require(
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

    @functools.cached_property
    def n_frames(self) -> int:
        """Frames per clip, the transform's ``frames_for(clip_samples)`` (computed once, when the config is made)."""
        return build_transform(self).frames_for(self.clip_samples)

    @property
    def settings(self):
        """The section of the chosen representation (e.g. ``self.mdct`` for ``representation: mdct``)."""
        return getattr(self, self.representation)

    def with_settings(self, settings) -> "PreprocessConfig":
        """A copy whose chosen representation's section is ``settings`` (e.g. with a fitted MDCT scale)."""
        return dataclasses.replace(self, **{self.representation: settings})
