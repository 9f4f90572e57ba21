"""The score roll: part music on the beat grid of its score, onsets kept apart from held notes.

A `preprocessing.transform.Transform` for issue 16 (piano-roll diffusion that writes
chorales). Where `preprocessing.piano_roll` samples a MIDI file's notes in seconds
on all 128 pitches, this one reads them on the metrical grid of the MIDI file's
ticks (music21 writes the chorales' exact note offsets, 10080 ticks per quarter),
keeps the pitch range part music uses, and gives onsets a channel of their own:

    values      float32 ``(n_pitches, n_steps, 2)``: rows pitches ``lowest_pitch`` ..
                ``highest_pitch`` (row 0 the lowest), columns steps of
                ``1 / steps_per_quarter`` quarter note (4: sixteenths), channel 0 the
                onsets, channel 1 the sustain (a note sounding in that step, its
                onset included); values 0 or 1 (`preprocessing.note_grid`).
    inverse     notes by `preprocessing.note_grid.roll_to_notes` (an onset starts a
                note, which lasts while sustain stays on and no new onset comes;
                sustain without an onset is a note only at step 0 or, with
                ``orphan_min_steps``, when long enough), written as MIDI at
                ``tempo_bpm`` on ``program`` and rendered with FluidSynth
                (`preprocessing.midi.midi_to_audio`).
    time        a step lasts ``60 / (tempo_bpm * steps_per_quarter)`` seconds, so
                ``hop_length = sample_rate * 60 / (tempo_bpm * steps_per_quarter)``
                samples (2000 at 16 kHz, 120 bpm, sixteenths): `frames_for` and
                `samples_for` convert clip lengths in seconds (the pipeline's
                ``clip_duration_s``) at this one nominal tempo. The roll itself is
                read from ticks and does not depend on a file's tempo.
    key         with ``key_normalisation``, every piece is transposed to C major or A
                minor before its roll is made (`preprocessing.keys`: the shift in
                [-6, +5] semitones that takes its tonic to C, or to A for a minor
                key; notes moved out of the rows are dropped, as any note outside
                them is), and a model trained on such rolls writes in those keys.
                The inverse takes a ``transposition`` (semitones added to every
                decoded note: `decode`, `to_midi`, `invert`), the one place where a
                roll's notes are moved to the key they are written in.
    voices      with ``voices`` (part names, e.g. ``["Soprano", "Alto", "Tenor", "Bass"]``),
                each voice has a pair of channels of its own, as Coconet keeps them
                (Huang et al., "Counterpoint by Convolution", ISMIR 2017): values
                ``(n_pitches, n_steps, 2 * n_voices)``, channels ``2 v`` and ``2 v + 1`` the
                onsets and sustain of voice ``v``. A voice is the MIDI part of that name
                (`pretty_midi.Instrument.name`, matched case-insensitively; a file
                without it is refused, naming the file and the voice), made one line
                (`preprocessing.note_grid.monophonic_notes`: of notes that start
                together the highest is kept in the first half of the voices, the
                lowest in the second half); other parts are left out. The decoder
                keeps one row per step in each voice, the largest ``onset + sustain``
                (`preprocessing.note_grid.one_row_per_step`), so a voice decodes to one
                pitch per step and a four-voice roll to at most four sounding pitches;
                `to_midi` writes one part per voice, named after it. Without
                ``voices`` (None, the default) every part is merged into one pair of
                channels, ``(n_pitches, n_steps, 2)``.

The defaults fit the 350 chorales (data/chorales/midi, measured in
docs/REPRESENTATIONS.md): their notes span MIDI 36-88, the four voices 36-81, and
99.93 % of all notes lie in 36-83 (C2-B5), the 48 rows kept here (a multiple of
16, for the U-Net's downsampling); the 73 notes above are from instrumental
parts (trumpets, violins, flutes, recorders, a horn) of 9 pieces with 5 to 12
parts. 321 of the 350 are at 120 bpm, music21's tempo for a score without a
metronome mark, the default ``tempo_bpm``.
"""

import os
from pathlib import Path

import numpy as np

from common.atomic import atomic_path
from common.errors import ParameterError
from common.validation import finite_number, flag, integer
from preprocessing.keys import analyse_key, normalising_shift, transpose_notes
from preprocessing.midi import DEFAULT_PROGRAM, DEFAULT_SAMPLE_RATE, load_midi, render_to_length
from preprocessing.note_grid import (
    N_CHANNELS,
    ONSET,
    SUSTAIN,
    bar_lines,
    check_notes,
    check_roll,
    grid_notes,
    merge_notes,
    monophonic_notes,
    notes_to_roll,
    one_row_per_step,
    roll_to_notes,
)
from preprocessing.transform import MIDI, Transform

NOTE_VELOCITY = 90  # the MIDI velocity music21 writes, and `to_midi` writes
TICKS_PER_STEP = 240  # resolution of the MIDI files `to_midi` writes: 240 ticks per step
DEFAULT_LOWEST_PITCH, DEFAULT_HIGHEST_PITCH = 36, 83  # C2 .. B5: 48 rows (module docstring)
MAX_TRANSPOSITION = 127  # semitones: any shift that can leave a MIDI pitch in [0, 127]
MAX_VOICES = 8  # voices a voice roll may keep apart
MERGED_PART_NAME = "score roll"  # the name of the one part `notes_to_midi` writes for a merged roll


def _midi(midi):
    """A `pretty_midi.PrettyMIDI` from a path, bytes or a PrettyMIDI (returned as is); ParameterError if unreadable."""
    import pretty_midi

    return midi if isinstance(midi, pretty_midi.PrettyMIDI) else load_midi(midi)


def _source_name(midi) -> str:
    """A MIDI source's name for messages: its path, or ``"<data>"`` for bytes or a PrettyMIDI."""
    return str(midi) if isinstance(midi, (str, os.PathLike)) else "<data>"


def _check_voices(voices):
    """``voices`` as a tuple of 1 to `MAX_VOICES` distinct part names (case-insensitively), or None."""
    if voices is None:
        return None
    names = tuple(voices) if isinstance(voices, (list, tuple)) else None
    if (
        not names
        or len(names) > MAX_VOICES
        or not all(isinstance(name, str) and name.strip() for name in names)
        or len({name.strip().lower() for name in names}) != len(names)
    ):
        raise ParameterError(
            f"voices must be null or a list of 1 to {MAX_VOICES} distinct part names (case-insensitively). "
            f"Received: voices={voices!r}"
        )
    return tuple(name.strip() for name in names)


class ScoreRollTransform(Transform):
    """Score roll of a MIDI file (module docstring), with its inverse to notes, MIDI and audio.

    Args:
        sample_rate: int in [8000, 96000], in Hz: the rate `invert` renders at.
        steps_per_quarter: int in [1, 96], grid steps per quarter note (4: sixteenths).
        lowest_pitch, highest_pitch: ints, 0 <= lowest_pitch < highest_pitch <= 127: the MIDI pitches of
            the first and last rows; ``highest_pitch - lowest_pitch + 1`` must be a multiple of 8
            (U-Net downsampling). Default 36-83, the chorales' range.
        tempo_bpm: float > 0, quarter notes per minute: the tempo the inverse plays at and
            at which steps are converted to seconds; the hop ``sample_rate * 60 /
            (tempo_bpm * steps_per_quarter)`` must be a whole number of samples.
        program: int in [0, 127], the General MIDI program (0-based) of the notes `to_midi`
            writes; 19 is "Church Organ", as the chorales are rendered.
        soundfont: str path of a ``.sf2`` file, or None for `preprocessing.midi.resolve_soundfont`'s.
        onset_threshold, sustain_threshold: floats in (0, 1]: the decoder's thresholds
            (`preprocessing.note_grid.roll_to_notes`).
        orphan_min_steps: None or int >= 1: the decoder's rule for sustain without onset.
        key_normalisation: bool: `extract_midi` transposes every piece to C major or A minor
            (module docstring, `transposition_for`); recorded in `get_config`, so that
            generation knows the model it trains writes in those keys. Default False.
        voices: None (default: every part merged into one pair of channels) or a list of 1 to
            `MAX_VOICES` part names, distinct case-insensitively, ``["Soprano", "Alto", "Tenor",
            "Bass"]`` for the chorales: each voice in a pair of channels of its own, decoded to
            one pitch per step (module docstring). The first voice is the melody harmonisation
            keeps (`preprocessing.harmonisation.harmonisation_mask`).

    Raises:
        ParameterError: if an argument is out of range, naming it.
    """

    input_kind = MIDI
    inverse_options = ("transposition",)
    display_unit = "onset 1, held 0.5"

    def __init__(
        self,
        sample_rate=DEFAULT_SAMPLE_RATE,
        steps_per_quarter=4,
        lowest_pitch=DEFAULT_LOWEST_PITCH,
        highest_pitch=DEFAULT_HIGHEST_PITCH,
        tempo_bpm=120.0,
        program=DEFAULT_PROGRAM,
        soundfont=None,
        onset_threshold=0.5,
        sustain_threshold=0.5,
        orphan_min_steps=None,
        key_normalisation=False,
        voices=None,
    ):
        self.sample_rate = integer("sample_rate", sample_rate, 8000, 96000)
        self.steps_per_quarter = integer("steps_per_quarter", steps_per_quarter, 1, 96)
        self.tempo_bpm = finite_number("tempo_bpm", tempo_bpm, 0.0, 1000.0)
        hop = self.sample_rate * 60.0 / (self.tempo_bpm * self.steps_per_quarter)
        if abs(hop - round(hop)) > 1e-9 * hop:
            raise ParameterError(
                f"sample_rate * 60 / (tempo_bpm * steps_per_quarter) must be a whole number of samples (the hop), "
                f"here {hop:g}. Received: tempo_bpm={tempo_bpm!r}"
            )
        self.hop_length = round(hop)
        self.lowest_pitch = integer("lowest_pitch", lowest_pitch, 0, 126)
        self.highest_pitch = integer("highest_pitch", highest_pitch, self.lowest_pitch + 1, 127)
        if (self.highest_pitch - self.lowest_pitch + 1) % 8:
            raise ParameterError(
                f"highest_pitch - lowest_pitch + 1 (the number of rows) must be a multiple of 8, here "
                f"{self.highest_pitch - self.lowest_pitch + 1}. Received: highest_pitch={highest_pitch!r}"
            )
        self.program = integer("program", program, 0, 127)
        if soundfont is not None and not isinstance(soundfont, (str, os.PathLike)):
            raise ParameterError(f"soundfont must be a path (str) or None. Received: soundfont={soundfont!r}")
        self.soundfont = None if soundfont is None else str(soundfont)
        self.onset_threshold = finite_number("onset_threshold", onset_threshold, 0.0, 1.0)
        self.sustain_threshold = finite_number("sustain_threshold", sustain_threshold, 0.0, 1.0)
        self.orphan_min_steps = None if orphan_min_steps is None else integer("orphan_min_steps", orphan_min_steps, 1)
        self.key_normalisation = flag("key_normalisation", key_normalisation)
        self.voices = _check_voices(voices)

    # === Shapes ===

    @property
    def n_freq_bins(self) -> int:
        """Number of rows (pitches), ``highest_pitch - lowest_pitch + 1``."""
        return self.highest_pitch - self.lowest_pitch + 1

    @property
    def n_voices(self):
        """Voices kept apart, ``len(voices)``; None for a merged roll (every part in one pair of channels)."""
        return None if self.voices is None else len(self.voices)

    @property
    def n_channels(self) -> int:
        """Channels of the values: 2 (onset, sustain) per voice, 2 for a merged roll (`Transform.values_shape`)."""
        return N_CHANNELS * (self.n_voices or 1)

    def frames_for(self, n_samples) -> int:
        """Steps of a clip of ``n_samples`` samples at ``tempo_bpm``: ``n_samples // hop_length``."""
        return integer("n_samples", n_samples, 0) // self.hop_length

    @property
    def step_s(self) -> float:
        """Seconds per step at ``tempo_bpm``."""
        return 60.0 / (self.tempo_bpm * self.steps_per_quarter)

    # === Forward ===

    def notes(self, midi) -> np.ndarray:
        """The notes of a MIDI file on this grid that the roll holds, all pitches: every non-drum part
        (`preprocessing.note_grid.grid_notes`), or with ``voices`` the voices' parts (`voice_notes`), merged.

        Args:
            midi: path of a Standard MIDI File, its bytes, or a `pretty_midi.PrettyMIDI`.
        Returns:
            int64 array ``(n_notes, 3)``: MIDI pitch, start step, end step (exclusive), sorted.
        Raises:
            ParameterError: if the file is missing or cannot be parsed (naming it), or lacks a voice (`voice_notes`).
        """
        return merge_notes(self.voice_notes(midi))

    def voice_notes(self, midi) -> list:
        """The notes of each voice of a MIDI file on this grid, all pitches (module docstring, ``voices``).

        Args:
            midi: path of a Standard MIDI File, its bytes, or a `pretty_midi.PrettyMIDI`.
        Returns:
            list of int64 arrays ``(n_notes, 3)`` (MIDI pitch, start step, end step), sorted: one per
            voice, each one line (`preprocessing.note_grid.monophonic_notes`); for a merged roll one
            array, every non-drum part's notes.
        Raises:
            ParameterError: if the file is missing or cannot be parsed, or (with ``voices``) has no
                non-drum part of a voice's name or several, naming the voice and the file
                (``"<data>"`` for bytes or a PrettyMIDI). The pipeline reports such a file as
                skipped, with the reason, and goes on (`preprocessing.pipeline`).
        """
        source, midi = midi, _midi(midi)
        if self.voices is None:
            return [grid_notes(midi, self.steps_per_quarter)]
        parts = [instrument for instrument in midi.instruments if not instrument.is_drum]
        names = [instrument.name.strip().lower() for instrument in parts]
        notes = []
        for v, voice in enumerate(self.voices):
            matches = [part for part, name in zip(parts, names) if name == voice.lower()]
            if len(matches) != 1:
                raise ParameterError(
                    f"The MIDI has {len(matches) or 'no'} part{'s' if len(matches) != 1 else ''} named {voice!r}, "
                    f"a voice of the roll (voices {list(self.voices)}; its parts: {[p.name for p in parts]}). "
                    f"Received: path={_source_name(source)!r}"
                )
            # the first half of the voices keeps the highest of notes that start together, the second the lowest
            keep_highest = 2 * v < len(self.voices)
            notes.append(monophonic_notes(grid_notes(midi, self.steps_per_quarter, parts=matches), keep_highest))
        return notes

    def notes_to_values(self, voice_notes, n_steps, offset_steps=0) -> np.ndarray:
        """The score roll of notes given per voice: the values `extract_midi` makes of them.

        Args:
            voice_notes: a list of int arrays ``(n_notes, 3)`` (MIDI pitch, start step, end step), one
                per voice (`voice_notes`), one for a merged roll; notes outside the rows are left out.
            n_steps: int >= 1, columns of the roll.
            offset_steps: int, the step of column 0 (`preprocessing.note_grid.notes_to_roll`).
        Returns:
            float32 array ``(n_freq_bins, n_steps, n_channels)`` of 0 and 1.
        Raises:
            ParameterError: for another number of arrays than voices, or malformed notes.
        """
        parts = self._check_voice_notes(voice_notes)
        rolls = [notes_to_roll(notes, n_steps, self.lowest_pitch, self.highest_pitch, offset_steps) for notes in parts]
        return rolls[0] if len(rolls) == 1 else np.concatenate(rolls, axis=2)

    def _check_voice_notes(self, voice_notes) -> list:
        """``voice_notes`` as a list of checked int64 note arrays, one per voice (one for a merged roll)."""
        expected = self.n_voices or 1
        if not isinstance(voice_notes, (list, tuple)) or len(voice_notes) != expected:
            count = len(voice_notes) if isinstance(voice_notes, (list, tuple)) else type(voice_notes).__name__
            raise ParameterError(
                f"voice_notes must be a list of {expected} note array(s), one per voice "
                f"({list(self.voices) if self.voices else 'a merged roll: one'}). Received: voice_notes={count}"
            )
        return [check_notes(notes, "voice_notes") for notes in voice_notes]

    def transposition_for(self, notes, key=None) -> int:
        """The semitones `extract_midi` moves a piece by: 0 without ``key_normalisation``, else
        `preprocessing.keys.normalising_shift` of its key.

        Args:
            notes: int array ``(n_notes, 3)``: the piece's notes (`notes`), analysed when ``key`` is None.
            key: str key name (``"G minor"``, `preprocessing.keys.parse_key`), or None: music21's
                analysis of ``notes`` (`preprocessing.keys.analyse_key`; a piece without notes is not moved).
        Returns:
            int in [-6, 5].
        Raises:
            ParameterError: for a malformed key name or malformed notes.
        """
        if not self.key_normalisation:
            return 0
        if key is None:
            key, _ = analyse_key(notes, self.steps_per_quarter)
        return 0 if key is None else normalising_shift(key)

    def notes_moved_out(self, notes, transposition) -> int:
        """How many of ``notes`` lie in the rows but not after moving them by ``transposition`` semitones."""
        pitches = np.asarray(notes, np.int64).reshape(-1, 3)[:, 0]
        inside = (pitches >= self.lowest_pitch) & (pitches <= self.highest_pitch)
        moved = pitches + int(transposition)
        return int(np.sum(inside & ((moved < self.lowest_pitch) | (moved > self.highest_pitch))))

    def extract_midi(self, midi, n_frames=None, transposition=None) -> np.ndarray:
        """Score roll of ``midi`` from its first tick: drums left out, parts merged (or with ``voices``, each
        voice in its channels and the other parts left out), pitches outside the rows dropped.

        Args:
            midi: path of a Standard MIDI File, its bytes, or a `pretty_midi.PrettyMIDI`.
            n_frames: int >= 1 or None: steps in the roll (the piano roll's keyword; a
                frame is a step); None runs to the end of the last note in the rows.
            transposition: int in [-127, 127], semitones every note is moved by before the
                roll is made (notes moved out of the rows are dropped), or None: the
                transform's own, `transposition_for` with music21's key analysis (0 without
                ``key_normalisation``). The pipeline passes the shift of the key its source names.
        Returns:
            float32 array ``(n_freq_bins, n_frames, n_channels)`` of 0 and 1: onsets, sustain (per voice
            with ``voices``: channels ``2 v``, ``2 v + 1``).
        Raises:
            ParameterError: if the MIDI is missing or unparseable, lacks a voice (`voice_notes`, naming
                the file and the voice: the pipeline skips such a file and goes on), ``n_frames`` or
                ``transposition`` is out of range, or ``n_frames`` is None and no note lies in the rows.
        """
        parts = self.voice_notes(midi)
        if transposition is None:
            transposition = self.transposition_for(merge_notes(parts))
        transposition = integer("transposition", transposition, -MAX_TRANSPOSITION, MAX_TRANSPOSITION)
        parts = [transpose_notes(notes, transposition) for notes in parts]
        n_steps = n_frames
        if n_steps is None:
            notes = merge_notes(parts)
            inside = notes[(notes[:, 0] >= self.lowest_pitch) & (notes[:, 0] <= self.highest_pitch)]
            if not inside.size:
                raise ParameterError(
                    f"The MIDI has no note in [{self.lowest_pitch}, {self.highest_pitch}] (not drums) to give the roll a "
                    f"length; pass n_frames. Received: midi={_source_name(midi)!r}"
                )
            n_steps = int(inside[:, 2].max())
        return self.notes_to_values(parts, n_steps)

    extract = extract_midi  # `Transform.extract`; it takes MIDI, not audio

    def bar_lines(self, midi, n_frames, pickup_quarters=None):
        """Steps where bars start (`preprocessing.note_grid.bar_lines`): the pipeline starts clips there.

        Args:
            midi: path, bytes or `pretty_midi.PrettyMIDI`.
            n_frames: int >= 1, the roll's steps.
            pickup_quarters: float >= 0 or None (0): the score's pickup, in quarter notes.
        Returns:
            int64 array, ascending, the first at or before step 0.
        """
        return bar_lines(_midi(midi), n_frames, self.steps_per_quarter, pickup_quarters or 0.0)

    # === Inverse ===

    def decode(self, values, onset_threshold=None, sustain_threshold=None, orphan_min_steps=None,
               transposition=0) -> np.ndarray:
        """The notes of ``values`` by `preprocessing.note_grid.roll_to_notes`, with this transform's rows;
        with ``voices``, every voice's notes (`decode_voices`) merged.

        Args:
            values: real float array ``(n_freq_bins, n_steps, n_channels)`` (extracted or generated).
            onset_threshold, sustain_threshold, orphan_min_steps: None for the transform's own.
            transposition: int in [-127, 127], semitones added to every note's pitch: the key the
                notes are written in (a key-normalised model's roll is in C major or A minor;
                `preprocessing.keys`). Notes moved outside MIDI's [0, 127] are left out.
        Returns:
            int64 array ``(n_notes, 3)``: MIDI pitch, start step, end step, sorted.
        Raises:
            ParameterError: for values of the wrong shape or non-finite, or a threshold or
                ``transposition`` out of range.
        """
        return merge_notes(self.decode_voices(values, onset_threshold, sustain_threshold, orphan_min_steps,
                                              transposition))

    def decode_voices(self, values, onset_threshold=None, sustain_threshold=None, orphan_min_steps=None,
                      transposition=0) -> list:
        """The notes of each voice of ``values``: `decode`'s, one array per voice.

        A voice's channels keep one row per step first (`preprocessing.note_grid.one_row_per_step`,
        the largest ``onset + sustain``), so each voice decodes to at most one pitch per step. A
        merged roll decodes as it is, to one array.

        Args:
            values, onset_threshold, sustain_threshold, orphan_min_steps, transposition: as `decode`.
        Returns:
            list of ``n_voices`` int64 arrays ``(n_notes, 3)`` (one for a merged roll): MIDI pitch,
            start step, end step, sorted.
        Raises:
            ParameterError: as `decode`.
        """
        values = check_roll(values, self.n_freq_bins, "values", self.n_channels)
        transposition = integer("transposition", transposition, -MAX_TRANSPOSITION, MAX_TRANSPOSITION)
        parts = []
        for roll in self._voice_rolls(values):
            notes = roll_to_notes(
                roll if self.voices is None else one_row_per_step(roll),
                self.lowest_pitch,
                self.onset_threshold if onset_threshold is None else onset_threshold,
                self.sustain_threshold if sustain_threshold is None else sustain_threshold,
                self.orphan_min_steps if orphan_min_steps is None else orphan_min_steps,
            )
            parts.append(transpose_notes(notes, transposition) if transposition else notes)
        return parts

    def _voice_rolls(self, values) -> list:
        """The two-channel rolls ``(n_freq_bins, n_steps, 2)`` of each voice of checked ``values`` (one if merged)."""
        return [values[..., k : k + N_CHANNELS] for k in range(0, values.shape[2], N_CHANNELS)]

    def notes_to_midi(self, notes):
        """A `pretty_midi.PrettyMIDI` of notes (pitch, start step, end step) at ``tempo_bpm``.

        Every part on ``program``, velocity `NOTE_VELOCITY`, `TICKS_PER_STEP` ticks per step,
        so every note lies exactly on its step.

        Args:
            notes: int array ``(n_notes, 3)``: one part, named ``"score roll"``; or, for a transform
                with ``voices``, a list or tuple of one such array per voice (`decode_voices`): one
                part per voice, named after it, so that `voice_notes` reads the file back (a voice
                without notes has an empty part, which a written file does not keep: pretty_midi
                makes parts from notes).
        Raises:
            ParameterError: for a list of another length than the voices, or malformed notes.
        """
        import pretty_midi

        if self.voices is not None and isinstance(notes, (list, tuple)):
            parts = list(zip(self.voices, self._check_voice_notes(notes)))
        else:
            parts = [(MERGED_PART_NAME, np.asarray(notes, np.int64).reshape(-1, 3))]
        midi = pretty_midi.PrettyMIDI(resolution=TICKS_PER_STEP * self.steps_per_quarter, initial_tempo=self.tempo_bpm)
        for name, part in parts:
            instrument = pretty_midi.Instrument(program=self.program, name=name)
            for pitch, start, end in part:
                instrument.notes.append(
                    pretty_midi.Note(NOTE_VELOCITY, int(pitch), start * self.step_s, end * self.step_s)
                )
            midi.instruments.append(instrument)
        return midi

    def to_midi(self, values, **decode_options):
        """MIDI of a score roll: `decode_voices` (a merged roll: one part), then `notes_to_midi` (with
        ``voices``: a part per voice). ``decode_options`` as `decode` takes them (``transposition``:
        the key the notes are written in)."""
        return self.notes_to_midi(self.decode_voices(values, **decode_options))

    def write_midi(self, values, path, **decode_options) -> Path:
        """Write `to_midi(values)` as a Standard MIDI File at ``path``, atomically; returns the Path."""
        midi = self.to_midi(values, **decode_options)
        with atomic_path(path) as tmp:
            midi.write(tmp)
        return Path(path)

    def _invert(self, values, length=None, transposition=0) -> np.ndarray:
        """`invert`: audio of a score roll: `to_midi`, then FluidSynth (`preprocessing.midi.midi_to_audio`).

        Rendered on ``program`` with ``soundfont``, peak-normalised to -1 dBFS; a roll
        without a note gives silence. Deterministic.

        Args:
            values: real float array ``(n_freq_bins, n_steps, n_channels)``.
            length: int > 0 or None: samples in the output; None gives ``samples_for(n_steps)``.
                The rendering (notes and up to 1 s of release) is trimmed or zero-padded to it.
            transposition: int, semitones added to every note (`decode`): the key it sounds in.
        Returns:
            float32 array ``(length,)`` at ``sample_rate`` Hz.
        Raises:
            ParameterError: for bad ``values`` or ``length``, a missing FluidSynth or SoundFont.
        """
        values = check_roll(values, self.n_freq_bins, "values", self.n_channels)
        length = self.samples_for(values.shape[1]) if length is None else integer("length", length, 1)
        return render_to_length(self.to_midi(values, transposition=transposition), length, self.sample_rate,
                                self.program, self.soundfont, values.shape[1] * self.step_s, "<score roll>")

    def inverse_name(self, **options) -> str:
        """``"MIDI at <tempo> bpm rendered by FluidSynth"`` (``", transposed +5 semitones"`` with a ``transposition``).

        Raises ParameterError for any other option."""
        self.check_inverse_options(options)
        moved = int(options.get("transposition") or 0)
        return f"MIDI at {self.tempo_bpm:g} bpm rendered by FluidSynth" + (
            f", transposed {moved:+d} semitones" if moved else "")

    # === Display ===

    def display(self, values):
        """``(shown, specshow kwargs)``: ``(n_freq_bins, n_steps)``, 1 at onsets, 0.5 where a note is held
        (with ``voices``: the largest over the voices).

        Raises:
            ParameterError: for values of the wrong shape or non-finite.
        """
        import librosa

        values = check_roll(values, self.n_freq_bins, "values", self.n_channels)
        pairs = values.reshape(values.shape[:2] + (-1, N_CHANNELS))  # (n_freq_bins, n_steps, voices, 2)
        shown = (0.5 * np.clip(pairs[..., SUSTAIN], 0, 1) + 0.5 * np.clip(pairs[..., ONSET], 0, 1)).max(axis=2)
        return shown.astype(np.float32), {
            "sr": self.sample_rate, "hop_length": self.hop_length, "x_axis": "time", "y_axis": "cqt_note",
            "fmin": librosa.midi_to_hz(self.lowest_pitch), "bins_per_octave": 12,
        }  # fmt: skip

    # === Config ===

    def get_config(self) -> dict:
        """Every constructor argument under its own name (JSON-safe)."""
        return {
            "sample_rate": self.sample_rate,
            "steps_per_quarter": self.steps_per_quarter,
            "lowest_pitch": self.lowest_pitch,
            "highest_pitch": self.highest_pitch,
            "tempo_bpm": self.tempo_bpm,
            "program": self.program,
            "soundfont": self.soundfont,
            "onset_threshold": self.onset_threshold,
            "sustain_threshold": self.sustain_threshold,
            "orphan_min_steps": self.orphan_min_steps,
            "key_normalisation": self.key_normalisation,
            "voices": None if self.voices is None else list(self.voices),
        }
