"""The piano-roll transform: MIDI to a pitch x time grid and back (MIDI, then audio by FluidSynth).

Notation (defaults: 16 kHz, 62.5 frames per second, so hop H = 256 samples):
    note          (pitch p, start s, end e in seconds, velocity v in 1..127),
                  from every non-drum instrument of the MIDI file.
    frames        frame t covers [offset_s + t/fps, offset_s + (t+1)/fps);
                  a note occupies frames round(fps (s - offset_s)) up to, not
                  including, round(fps (e - offset_s)), at least one frame.
    roll          R[p - min_pitch, t] = max over the notes occupying (p, t) of
                  v / 127 ("velocity" mode, values in [0, 1]) or 1 ("binary"),
                  0 elsewhere; float32 `(max_pitch - min_pitch + 1, n_frames)`,
                  row 0 the lowest pitch. Notes outside [min_pitch, max_pitch]
                  are dropped. With ``separate_repeats`` (default) the frame
                  before each note's first frame is then set to 0, so a note
                  that starts while its pitch sounds (a repeated note, a voice
                  joining another in unison) still starts a new run.
    inverse       every run of consecutive frames with R >= threshold on one row
                  becomes one note (velocity round(127 * mean of the run) in
                  velocity mode, 100 in binary mode), played on one General MIDI
                  program and rendered with FluidSynth
                  (`preprocessing.midi.midi_to_audio`).

What the roll cannot hold: two voices attacking the same pitch together are
one note in a roll. Without ``separate_repeats``, two notes of one pitch that
touch or overlap also become one run and come back as one note. Measured on
three Bach chorales (music21's MIDI, whole pieces, 206-228 notes), MIDI ->
roll -> MIDI recovers 78.6-83.3 % of the notes' onsets (within half a frame)
without ``separate_repeats`` (losses: repeated notes, 21-30 a piece, and
unisons) and 95.6-98.1 % with it, every remaining loss a unison attack (100 %
of the distinct (pitch, onset) pairs). The price: the note before a repeat
comes back one frame shorter, and of two overlapping unison notes the first
ends where the second starts and the second lasts to the later end.
"""

import os
from pathlib import Path

import numpy as np

from common.atomic import atomic_path
from common.errors import ParameterError
from common.validation import finite_number as _finite_number
from common.validation import integer as _check_int
from preprocessing.mdct import check_rows
from preprocessing.midi import DEFAULT_PROGRAM, DEFAULT_SAMPLE_RATE, render_to_length
from preprocessing.midi import load_midi
from preprocessing.transform import MIDI, Transform

MODES = ("velocity", "binary")
BINARY_VELOCITY = 100  # MIDI velocity of the notes `to_midi` writes in binary mode
# MIDI ticks per quarter note of the files `to_midi` writes: 1920 ticks per second
# at pretty_midi's 120 bpm, so note times are within 0.26 ms of the frame grid.
MIDI_RESOLUTION = 960
_MAX_FRAMES_PER_SECOND = 1000.0  # keeps the 0.26 ms tick error below half a frame
_DEFAULT_THRESHOLDS = {"velocity": 0.1, "binary": 0.5}


class PianoRollTransform(Transform):
    """Piano roll of a MIDI file, with its inverse to MIDI and to audio.

    A `preprocessing.transform.Transform` whose input is MIDI (``input_kind`` `MIDI`:
    `extract` is `extract_midi`) and whose inverse takes no options.

    Args:
        sample_rate: int in [8000, 96000], in Hz: the rate `invert` renders at.
        frames_per_second: float > 0 (<= 1000): roll frames per second; the hop
            ``sample_rate / frames_per_second`` must be a whole number of
            samples (62.5 at 16 kHz gives 256, the STFT's hop).
        mode: "velocity" (values velocity / 127 in [0, 1]) or "binary" (0 or 1).
        min_pitch, max_pitch: ints, 0 <= min_pitch < max_pitch <= 127: the MIDI
            pitches of the first and last rows; the row count
            ``max_pitch - min_pitch + 1`` must be a multiple of 8 (U-Net
            downsampling). Default 0..127, all of MIDI.
        threshold: float in (0, 1] or None: a frame is a note when its value is
            >= threshold (`to_midi`); None gives 0.5 in binary mode and 0.1 in
            velocity mode (velocity 13 and above).
        program: int in [0, 127], the General MIDI program (0-based) of the
            notes `to_midi` writes; 19 is "Church Organ", as in the chorales.
        soundfont: str path of a ``.sf2`` file or None for the default of
            `preprocessing.midi.resolve_soundfont` (checked when rendering).
        separate_repeats: bool: leave the frame before every note onset empty
            (module docstring) so that repeated notes survive the round trip.

    Raises:
        ParameterError: if an argument is out of range or an unknown name.
    """

    input_kind = MIDI
    display_unit = "note value"

    def __init__(
        self,
        sample_rate=DEFAULT_SAMPLE_RATE,
        frames_per_second=62.5,
        mode="velocity",
        min_pitch=0,
        max_pitch=127,
        threshold=None,
        program=DEFAULT_PROGRAM,
        soundfont=None,
        separate_repeats=True,
    ):
        self.sample_rate = _check_int("sample_rate", sample_rate, 8000, 96000)
        self.frames_per_second = _finite_number("frames_per_second", frames_per_second, 0.0, _MAX_FRAMES_PER_SECOND)
        hop = self.sample_rate / self.frames_per_second
        if abs(hop - round(hop)) > 1e-9 * hop:
            raise ParameterError(
                f"sample_rate / frames_per_second must be a whole number of samples (the hop), "
                f"here {self.sample_rate} / {self.frames_per_second:g} = {hop:g}. "
                f"Received: frames_per_second={frames_per_second!r}"
            )
        self.hop_length = round(hop)
        if mode not in MODES:
            raise ParameterError(f"mode must be one of {MODES}. Received: mode={mode!r}")
        self.mode = mode
        self.min_pitch = _check_int("min_pitch", min_pitch, 0, 126)
        self.max_pitch = _check_int("max_pitch", max_pitch, self.min_pitch + 1, 127)
        if (self.max_pitch - self.min_pitch + 1) % 8:
            raise ParameterError(
                f"max_pitch - min_pitch + 1 (the number of rows) must be a multiple of 8, here "
                f"{self.max_pitch - self.min_pitch + 1}. Received: max_pitch={max_pitch!r}"
            )
        threshold = _DEFAULT_THRESHOLDS[mode] if threshold is None else threshold
        self.threshold = _finite_number("threshold", threshold, 0.0, 1.0)
        self.program = _check_int("program", program, 0, 127)
        if soundfont is not None and not isinstance(soundfont, (str, os.PathLike)):
            raise ParameterError(f"soundfont must be a path (str) or None. Received: soundfont={soundfont!r}")
        self.soundfont = None if soundfont is None else str(soundfont)
        if not isinstance(separate_repeats, bool):
            raise ParameterError(
                f"separate_repeats must be true or false. Received: separate_repeats={separate_repeats!r}"
            )
        self.separate_repeats = separate_repeats

    # === Shapes ===

    @property
    def n_freq_bins(self) -> int:
        """Number of rows (pitches), ``max_pitch - min_pitch + 1``."""
        return self.max_pitch - self.min_pitch + 1

    def frames_for(self, n_samples) -> int:
        """Frames of a clip of ``n_samples`` samples: ``n_samples // hop_length``."""
        n_samples = _check_int("n_samples", n_samples, 0)
        return n_samples // self.hop_length

    # === Forward ===

    def load_midi(self, midi):
        """A `pretty_midi.PrettyMIDI` from a path, MIDI bytes or a PrettyMIDI (`preprocessing.midi.load_midi`).

        Raises:
            ParameterError: if the file is missing or cannot be parsed (naming it).
        """
        return load_midi(midi)

    def extract_midi(self, midi, offset_s=0.0, n_frames=None) -> np.ndarray:
        """Piano roll of ``midi`` (module docstring): drums excluded, instruments merged by max.

        Args:
            midi: path of a Standard MIDI File, its bytes, or a `pretty_midi.PrettyMIDI`.
                Files of more than pretty_midi's 1e7 ticks (long music21 exports,
                10080 ticks per quarter) are accepted.
            offset_s: float >= 0, in seconds: the time of frame 0 (to cut a roll
                aligned with an audio clip that starts there).
            n_frames: int >= 1 or None: frames in the roll; None runs to the end
                of the last note (needs at least one note after ``offset_s``).
        Returns:
            float32 array, shape `(n_freq_bins, n_frames)`, values in [0, 1]
            (velocity / 127, or 0/1 in binary mode).
        Raises:
            ParameterError: if the MIDI is missing or unparseable, an argument is
                out of range, or ``n_frames`` is None and no note ends after ``offset_s``.
        """
        midi = self.load_midi(midi)
        offset_s = _finite_number("offset_s", offset_s, 0.0, low_open=False)
        notes = [
            (note.pitch, note.start, note.end, note.velocity)
            for instrument in midi.instruments
            if not instrument.is_drum
            for note in instrument.notes
            if self.min_pitch <= note.pitch <= self.max_pitch
        ]
        notes = np.array(notes, dtype=np.float64).reshape(-1, 4)
        # round half up to the nearest frame boundary
        starts, ends = np.floor((notes[:, 1:3] - offset_s) * self.frames_per_second + 0.5).astype(np.int64).T
        ends = np.maximum(ends, starts + 1)
        if n_frames is None:
            n_frames = int(ends.max()) if ends.size else 0
            if n_frames <= 0:
                raise ParameterError(
                    f"The MIDI has no note after offset_s (in [{self.min_pitch}, {self.max_pitch}], not drums) "
                    f"to give the roll a length; pass n_frames. Received: offset_s={offset_s!r}"
                )
        n_frames = _check_int("n_frames", n_frames, 1)
        values = notes[:, 3] / 127.0 if self.mode == "velocity" else np.ones(len(notes))
        roll = np.zeros((self.n_freq_bins, n_frames), dtype=np.float32)
        for pitch, start, end, value in zip(notes[:, 0].astype(np.int64), starts, ends, values):
            row = roll[pitch - self.min_pitch, max(start, 0) : max(min(end, n_frames), 0)]
            np.maximum(row, np.float32(value), out=row)
        if self.separate_repeats:
            inside = (starts >= 1) & (starts <= n_frames)
            roll[notes[inside, 0].astype(np.int64) - self.min_pitch, starts[inside] - 1] = 0.0
        return roll

    extract = extract_midi  # `Transform.extract`; it takes MIDI, not audio

    # === Inverse ===

    def to_midi(self, roll, threshold=None):
        """MIDI of a piano roll: one note per run of frames >= threshold on a row.

        Args:
            roll: real float array, shape `(n_freq_bins, n_frames)`, n_frames >= 1,
                as returned by `extract_midi` (or generated; values outside [0, 1]
                are fine).
            threshold: float in (0, 1] or None for the transform's ``threshold``.
        Returns:
            A `pretty_midi.PrettyMIDI` (120 bpm, 960 ticks per quarter) with one
            instrument on ``program``; notes start and end on frame boundaries,
            ``t / frames_per_second`` seconds, with velocity
            ``clip(round(127 * mean of the run), 1, 127)`` in velocity mode and
            100 in binary mode.
        Raises:
            ParameterError: if ``roll`` has the wrong number of rows, no frame,
                non-finite values, or ``threshold`` is out of range.
        """
        import pretty_midi

        roll = check_rows("roll", roll, self.n_freq_bins)
        threshold = self.threshold if threshold is None else _finite_number("threshold", threshold, 0.0, 1.0)
        active = np.pad(roll >= threshold, ((0, 0), (1, 1))).astype(np.int8)
        edges = np.diff(active, axis=1)  # +1 where a run starts, -1 one past where it ends
        rows, starts = np.nonzero(edges == 1)
        _, ends = np.nonzero(edges == -1)  # row-major order: the k-th end closes the k-th start
        if self.mode == "velocity":
            sums = np.pad(np.cumsum(roll, axis=1, dtype=np.float64), ((0, 0), (1, 0)))
            means = (sums[rows, ends] - sums[rows, starts]) / (ends - starts)
            velocities = np.clip(np.round(127.0 * means), 1, 127).astype(int)
        else:
            velocities = np.full(rows.shape, BINARY_VELOCITY)
        midi = pretty_midi.PrettyMIDI(resolution=MIDI_RESOLUTION)
        instrument = pretty_midi.Instrument(program=self.program, name="piano roll")
        for row, start, end, velocity in zip(rows, starts, ends, velocities):
            instrument.notes.append(
                pretty_midi.Note(
                    velocity=int(velocity),
                    pitch=int(row) + self.min_pitch,
                    start=start / self.frames_per_second,
                    end=end / self.frames_per_second,
                )
            )
        instrument.notes.sort(key=lambda note: (note.start, note.pitch))
        midi.instruments.append(instrument)
        return midi

    def write_midi(self, roll, path, threshold=None) -> Path:
        """Write `to_midi(roll, threshold)` as a Standard MIDI File at ``path``, atomically; returns the Path."""
        midi = self.to_midi(roll, threshold)
        with atomic_path(path) as tmp:
            midi.write(tmp)
        return Path(path)

    def _invert(self, roll, length=None) -> np.ndarray:
        """`invert`: audio of a piano roll: `to_midi`, then FluidSynth (`preprocessing.midi.midi_to_audio`).

        Rendered on ``program`` with ``soundfont``, peak-normalised to -1 dBFS
        (a roll has no level of its own), trailing silence cut; a roll with no
        note gives silence. Rendering is deterministic: it takes no options.

        Args:
            roll: real float array, shape `(n_freq_bins, n_frames)`, n_frames >= 1.
            length: int > 0 or None: samples in the output; None gives
                ``samples_for(n_frames) = n_frames * hop_length``. The rendering
                (notes plus up to 1 s of release) is trimmed or zero-padded to it.
        Returns:
            float32 array, shape `(length,)`, at ``sample_rate`` Hz.
        Raises:
            ParameterError: for a bad ``roll`` or ``length`` (see `to_midi`), a
                missing FluidSynth or SoundFont.
        """
        roll = check_rows("roll", roll, self.n_freq_bins)
        length = self.samples_for(roll.shape[1]) if length is None else _check_int("length", length, 1)
        return render_to_length(self.to_midi(roll), length, self.sample_rate, self.program, self.soundfont,
                                roll.shape[1] / self.frames_per_second, "<piano roll>")

    def inverse_name(self, **options) -> str:
        """``"MIDI rendered by FluidSynth"``. Raises ParameterError for any option (it takes none)."""
        self.check_inverse_options(options)
        return "MIDI rendered by FluidSynth"

    # === Display ===

    def display(self, values):
        """``(values, specshow kwargs)``: the note values as they are, one row per MIDI pitch (note names)."""
        import librosa

        return values, {"sr": self.sample_rate, "hop_length": self.hop_length, "x_axis": "time",
                        "y_axis": "cqt_note", "fmin": librosa.midi_to_hz(self.min_pitch), "bins_per_octave": 12}

    # === Config ===

    def get_config(self) -> dict:
        """Every constructor argument under its own name (JSON-safe; ``threshold`` resolved)."""
        return {
            "sample_rate": self.sample_rate,
            "frames_per_second": self.frames_per_second,
            "mode": self.mode,
            "min_pitch": self.min_pitch,
            "max_pitch": self.max_pitch,
            "threshold": self.threshold,
            "program": self.program,
            "soundfont": self.soundfont,
            "separate_repeats": self.separate_repeats,
        }
