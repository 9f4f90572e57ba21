"""MIDI files in one place: reading them with pretty_midi, and rendering them to audio with FluidSynth.

Used by the chorales recipe (`preprocessing.recipes.chorales`), which renders
every chorale's MIDI, and by the piano-roll transform
(`preprocessing.piano_roll`), which reads MIDI files and renders its inverse.

Rendering (`midi_to_audio`): every part is given one General MIDI program
(19, "Church Organ", by default) and the MIDI is rendered with FluidSynth
through ``pretty_midi``, peak-normalised (-1 dBFS by default), trimmed of
trailing silence and faded out over its last 20 ms. MIDI longer than
``max_duration_s`` is refused before rendering, which bounds time and memory;
a bound on wall-clock time is the caller's (`common.time_limit.time_limit`).

FluidSynth itself is a system library: ``apt-get install fluidsynth``
(Debian/Ubuntu) or ``brew install fluid-synth`` (macOS), with the binding
``pip install pyfluidsynth``; the larger FluidR3_GM soundfont
(``apt-get install fluid-soundfont-gm``) is used when present, else the small
TimGM6mb soundfont bundled with pretty_midi (`resolve_soundfont`).
"""

import io
import math
import os
from pathlib import Path

import numpy as np

from common.errors import ParameterError
from common.validation import finite_number, integer

DEFAULT_PROGRAM = 19  # General MIDI "Church Organ" (0-based program number)
DEFAULT_SAMPLE_RATE = 16000  # Hz
DEFAULT_PEAK_DBFS = -1.0
DEFAULT_MAX_DURATION_S = 600.0
SYSTEM_SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
# FluidSynth's accepted range for the setting `synth.sample-rate`, in Hz.
MIN_SAMPLE_RATE, MAX_SAMPLE_RATE = 8000, 96000

# music21 writes 10080 ticks per quarter note; pretty_midi refuses files whose
# last tick exceeds its MAX_TICK (1e7), which long chorales do.
_MAX_TICK = 10**10
# Trailing samples quieter than this, relative to the peak, are cut (dB).
_TRIM_TOP_DB = 60.0
_FADE_OUT_S = 0.02


# ---------------------------------------------------------------------------
# Checks and lookups
# ---------------------------------------------------------------------------


def require_fluidsynth():
    """Import the FluidSynth binding (pyfluidsynth, which loads libfluidsynth).

    Raises:
        ParameterError: if it cannot be loaded, saying how to install it.
    """
    try:
        import fluidsynth  # noqa: F401
    except (ImportError, OSError) as err:
        raise ParameterError(
            "FluidSynth is needed to render the chorales but could not be loaded. Install the "
            "library with `apt-get install fluidsynth` (Debian/Ubuntu) or `brew install "
            "fluid-synth` (macOS), and the binding with `pip install pyfluidsynth`. "
            f"Received: fluidsynth={type(err).__name__}: {err}"
        ) from err


def check_peak_dbfs(peak_dbfs) -> float:
    """``float(peak_dbfs)`` if it is a finite level <= 0 dBFS.

    Raises:
        ParameterError: otherwise, ending in ``Received: peak_dbfs=<value>``.
    """
    try:
        number = float(peak_dbfs)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number > 0:
        raise ParameterError(f"peak_dbfs must be finite and <= 0 dBFS. Received: peak_dbfs={peak_dbfs!r}")
    return number


def resolve_soundfont(soundfont=None) -> Path:
    """Return the SoundFont to render with.

    Args:
        soundfont: path to a ``.sf2`` file, or None for the default: FluidR3_GM
            (``/usr/share/sounds/sf2/FluidR3_GM.sf2``, Debian package
            ``fluid-soundfont-gm``) when present, else ``TimGM6mb.sf2`` bundled
            with pretty_midi.
    Returns:
        An existing file path.
    Raises:
        ParameterError: if ``soundfont`` is given and is not a file.
    """
    if soundfont is not None:
        path = Path(soundfont)
        if not path.is_file():
            raise ParameterError(f"SoundFont file not found. Received: soundfont={str(soundfont)!r}")
        return path
    if SYSTEM_SOUNDFONT.is_file():
        return SYSTEM_SOUNDFONT
    import pretty_midi

    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def parse_midi(midi_bytes):
    """Parse the bytes of a Standard MIDI File with pretty_midi.

    Files whose last tick is beyond pretty_midi's ``MAX_TICK`` (1e7) are
    accepted: music21 writes 10080 ticks per quarter note, so a long chorale
    goes past it. The limit is raised (to 1e10) in the ``pretty_midi`` module
    for the whole process, never lowered.

    Args:
        midi_bytes: bytes of a Standard MIDI File.
    Returns:
        A `pretty_midi.PrettyMIDI`.
    Raises:
        Exception: whatever mido and pretty_midi raise for bytes that are not a
            MIDI file (``OSError``, ``EOFError``, ``KeyError``, ``ValueError``,
            ...); `load_midi` reports them as `ParameterError`.
    """
    import pretty_midi

    # Raised rather than set: never lower a limit someone else raised further.
    pretty_midi.pretty_midi.MAX_TICK = max(pretty_midi.pretty_midi.MAX_TICK, _MAX_TICK)
    return pretty_midi.PrettyMIDI(io.BytesIO(midi_bytes))


def load_midi(midi):
    """A `pretty_midi.PrettyMIDI` from a MIDI file's path or bytes (see `parse_midi` for long files).

    Args:
        midi: str or path-like of a Standard MIDI File, or its bytes, or a `pretty_midi.PrettyMIDI`
            (returned as is).
    Returns:
        A `pretty_midi.PrettyMIDI`.
    Raises:
        ParameterError: if ``midi`` is neither a path, bytes nor a PrettyMIDI, the file is
            missing, or it cannot be parsed; the message names the file
            (``"<bytes>"`` for bytes).
    """
    import pretty_midi

    if isinstance(midi, pretty_midi.PrettyMIDI):
        return midi
    if isinstance(midi, (str, os.PathLike)):
        name = str(midi)
        if not Path(midi).is_file():
            raise ParameterError(f"MIDI file not found. Received: path={name!r}")
        data = Path(midi).read_bytes()
    elif isinstance(midi, (bytes, bytearray)):
        name, data = "<bytes>", bytes(midi)
    else:
        raise ParameterError(f"midi must be a path, bytes or a PrettyMIDI. Received: midi={type(midi).__name__}")
    try:
        return parse_midi(data)
    except Exception as err:  # mido and pretty_midi raise many types for a bad file
        raise ParameterError(f"Cannot parse the MIDI ({type(err).__name__}: {err}). Received: path={name!r}") from err


# ---------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------


def midi_to_audio(
    midi_bytes,
    sample_rate=DEFAULT_SAMPLE_RATE,
    program=DEFAULT_PROGRAM,
    soundfont=None,
    peak_dbfs=DEFAULT_PEAK_DBFS,
    max_duration_s=DEFAULT_MAX_DURATION_S,
    piece="<midi>",
) -> np.ndarray:
    """Render MIDI with FluidSynth (``pretty_midi.PrettyMIDI.fluidsynth``), every part on one program.

    Args:
        midi_bytes: bytes of a Standard MIDI File, or the path of one.
        sample_rate: int in [8000, 96000], in Hz.
        program: int in [0, 127], the General MIDI program (0-based) given to
            every non-drum part; 19 is "Church Organ", 52 "Choir Aahs".
        soundfont: path to a ``.sf2`` file or None (see `resolve_soundfont`).
        peak_dbfs: float <= 0, in dBFS: the peak level after normalisation
            (-1 dBFS = 0.891 full scale).
        max_duration_s: float > 0, in seconds: MIDI longer than this is refused
            before rendering, which bounds time and memory.
        piece: name used in error messages.
    Returns:
        float32 array, shape ``(n_samples,)``, mono (FluidSynth's left channel),
        peak ``10 ** (peak_dbfs / 20)`` (or a little less if the peak falls in
        the final 20 ms fade-out), trailing samples more than 60 dB below the
        peak removed.
    Raises:
        ParameterError: for an argument out of range, a missing FluidSynth or
            SoundFont, MIDI that cannot be read, has no notes or is longer than
            ``max_duration_s``, and audio that is silent or not finite.
    """
    require_fluidsynth()
    sample_rate = integer("sample_rate", sample_rate, MIN_SAMPLE_RATE, MAX_SAMPLE_RATE)
    program = integer("program", program, 0, 127)
    max_duration_s = finite_number("max_duration_s", max_duration_s, 0.0)
    peak_dbfs = check_peak_dbfs(peak_dbfs)
    soundfont = resolve_soundfont(soundfont)

    midi = load_midi(midi_bytes)
    if not any(instrument.notes for instrument in midi.instruments):
        raise ParameterError(f"The MIDI has no notes. Received: piece={piece!r}")
    end_time_s = midi.get_end_time()
    if end_time_s > max_duration_s:
        raise ParameterError(
            f"The MIDI lasts {end_time_s:.1f} s, more than max_duration_s={max_duration_s:g}. "
            f"Received: piece={piece!r}"
        )
    for instrument in midi.instruments:
        instrument.is_drum = False
        instrument.program = program
    # A path (not a Synth) makes pretty_midi create, use and delete one synth
    # per call, so nothing carries over between pieces; loading the SoundFont
    # from the page cache takes about 30 ms.
    audio = midi.fluidsynth(fs=sample_rate, synthesizer=str(soundfont), normalize=False)
    audio = np.asarray(audio, dtype=np.float64)  # (n_samples,), int16 scale
    return _normalise(audio, sample_rate, peak_dbfs, piece)


def _normalise(audio, sample_rate, peak_dbfs, piece):
    """FluidSynth's output peak-normalised, trimmed and faded out (see `midi_to_audio`), as float32."""
    if audio.size == 0:
        raise ParameterError(f"FluidSynth returned no audio. Received: piece={piece!r}")
    if not np.all(np.isfinite(audio)):
        raise ParameterError(f"FluidSynth returned non-finite audio. Received: piece={piece!r}")
    peak = float(np.max(np.abs(audio)))
    if peak == 0.0:
        raise ParameterError(f"FluidSynth returned silence. Received: piece={piece!r}")
    audio *= 10.0 ** (peak_dbfs / 20.0) / peak
    audio = _trim_trailing_silence(audio, _TRIM_TOP_DB)
    # pretty_midi stops one second after the last note-off, when the reverb
    # tail is still near -40 dBFS: a short fade-out avoids a click at the cut.
    n_fade = min(audio.size, int(_FADE_OUT_S * sample_rate))
    if n_fade:
        audio[-n_fade:] *= np.linspace(1.0, 0.0, n_fade)
    return audio.astype(np.float32)


def _trim_trailing_silence(audio, top_db):
    """Cut the samples after the last one within ``top_db`` dB of the peak."""
    threshold = np.max(np.abs(audio)) * 10.0 ** (-top_db / 20.0)
    loud = np.flatnonzero(np.abs(audio) > threshold)
    return audio[: loud[-1] + 1] if loud.size else audio[:0]


def render_to_length(midi, length, sample_rate, program, soundfont, duration_s, piece):
    """A ``pretty_midi.PrettyMIDI`` rendered by `midi_to_audio` to exactly ``length`` samples.

    A MIDI object without notes renders as silence (zeros); the rendering (notes and up to 1 s
    of release, at most ``ceil(duration_s) + 1`` seconds) is trimmed or zero-padded to ``length``.

    Args:
        midi: the MIDI object (its first instrument's notes decide silence); length: int >= 1, samples.
        sample_rate, program, soundfont, piece: as `midi_to_audio`; duration_s: float > 0, the notes' span in seconds.
    Returns:
        float32 array ``(length,)`` at ``sample_rate`` Hz.
    Raises:
        ParameterError: as `midi_to_audio`.
    """
    if not midi.instruments or not midi.instruments[0].notes:
        return np.zeros(length, dtype=np.float32)
    buffer = io.BytesIO()
    midi.write(buffer)
    audio = midi_to_audio(buffer.getvalue(), sample_rate=sample_rate, program=program, soundfont=soundfont,
                          max_duration_s=math.ceil(duration_s) + 1.0, piece=piece)[:length]
    return np.pad(audio, (0, length - audio.shape[0])) if audio.shape[0] < length else audio
