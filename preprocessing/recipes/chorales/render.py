"""One chorale from score to files: its analysis, its MIDI and its audio, in a worker of the build's pool."""

import io
import time
from pathlib import Path

import numpy as np

from common.atomic import atomic_write_bytes
from common.errors import ParameterError
from common.time_limit import TimeLimitExceeded, time_limit
from preprocessing.midi import DEFAULT_MAX_DURATION_S, DEFAULT_PEAK_DBFS, DEFAULT_PROGRAM, DEFAULT_SAMPLE_RATE
from preprocessing.midi import midi_to_audio
from preprocessing.recipes.chorales.analysis import analyze_score
from preprocessing.recipes.chorales.manifest import ANALYSIS_COLUMNS, midi_path, wav_path
from preprocessing.recipes.chorales.score import parse_score, score_to_midi

MAX_REASON_CHARS = 300  # a failure's reason is cut to this many characters


def render_piece(
    piece_id,
    source,
    sample_rate=DEFAULT_SAMPLE_RATE,
    program=DEFAULT_PROGRAM,
    soundfont=None,
    peak_dbfs=DEFAULT_PEAK_DBFS,
    max_duration_s=DEFAULT_MAX_DURATION_S,
) -> np.ndarray:
    """Render one chorale to audio: `score_to_midi`, then `preprocessing.midi.midi_to_audio`.

    Args:
        piece_id: str, used in error messages (e.g. ``"bwv26.6"``).
        source: score file path or parsed music21 stream (see `score_to_midi`).
        sample_rate, program, soundfont, peak_dbfs, max_duration_s: see `midi_to_audio`.
    Returns:
        float32 array, shape ``(n_samples,)``, mono, peak -1 dBFS by default.
    Raises:
        ParameterError: see `midi_to_audio` and `score_to_midi`.
        Exception: whatever music21 raises for a score it cannot export.
    """
    midi_bytes = score_to_midi(source)
    return midi_to_audio(
        midi_bytes,
        sample_rate=sample_rate,
        program=program,
        soundfont=soundfont,
        peak_dbfs=peak_dbfs,
        max_duration_s=max_duration_s,
        piece=piece_id,
    )


def _wav_bytes(audio, sample_rate):
    """``audio`` as the bytes of a mono 16-bit PCM WAV file."""
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, audio, sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _reason(err) -> str:
    """``"<type>: <message>"`` on one line, at most 300 characters: why a piece failed."""
    message = " ".join(str(err).split()) or repr(err)
    return f"{type(err).__name__}: {message}"[:MAX_REASON_CHARS]


def _analysis_fields(score):
    """`analyze_score` as the manifest's analysis columns, and "" or why it failed. Never raises but a timeout."""
    try:
        analysis = analyze_score(score)
    except TimeLimitExceeded:
        raise  # the piece's time is up: not an analysis failure
    except Exception as err:  # a label missing is no reason to drop the audio
        return {}, _reason(err)
    return {column: getattr(analysis, column) for column in ANALYSIS_COLUMNS}, ""


def _existing_duration_s(wav_file, midi_file, sample_rate):
    """The duration in seconds of a complete earlier rendering at ``sample_rate`` Hz, or None if there is none."""
    import soundfile

    if not (wav_file.is_file() and midi_file.is_file()):
        return None
    try:
        info = soundfile.info(str(wav_file))
    except RuntimeError:
        return None  # unreadable: render it again
    if info.samplerate == sample_rate and info.frames > 0:
        return info.frames / info.samplerate
    return None


def _render_score(score, job):
    """The MIDI bytes and the audio of a parsed score, with the job's settings."""
    midi_bytes = score_to_midi(score)
    audio = midi_to_audio(
        midi_bytes,
        sample_rate=job["sample_rate"],
        program=job["program"],
        soundfont=job["soundfont"],
        peak_dbfs=job["peak_dbfs"],
        max_duration_s=job["max_duration_s"],
        piece=job["piece"],
    )
    if audio.size == 0:
        raise ParameterError(f"Nothing left after trimming silence. Received: piece={job['piece']!r}")
    return midi_bytes, audio


def render_job(job) -> dict:
    """Analyse, render and save one piece; runs in a worker process of the build. Never raises.

    A piece whose WAV (and MIDI) already exist at the job's sample rate is
    analysed but not rendered, unless ``overwrite``; if its score no longer
    parses, it is kept with an empty analysis. The parsing, analysis and
    rendering together are bounded by ``timeout_s`` (`common.time_limit`);
    the files are written after that, MIDI first and WAV last, so that a WAV
    on disk means the piece is complete.

    Args:
        job: dict with ``piece`` (str id), ``path`` (str, the score file),
            ``out_dir`` (str), ``sample_rate``, ``program``, ``soundfont``,
            ``peak_dbfs``, ``max_duration_s`` (see `midi_to_audio`),
            ``timeout_s`` (float > 0 or None, in seconds) and ``overwrite`` (bool).
    Returns:
        dict with ``piece``, ``status`` ("ok", "exists" or "failed"),
        ``duration_s`` (seconds of audio), ``reason`` ("" or why it failed),
        ``analysis`` (the `ANALYSIS_COLUMNS`, empty if the analysis failed),
        ``analysis_error`` ("" or why) and ``elapsed_s`` (seconds spent).
    """
    started = time.perf_counter()
    piece = job["piece"]
    out_dir = Path(job["out_dir"])
    wav_file, midi_file = out_dir / wav_path(piece), out_dir / midi_path(piece)
    result = {
        "piece": piece, "status": "failed", "duration_s": 0.0, "reason": "", "analysis": {}, "analysis_error": "",
        "elapsed_s": 0.0,
    }  # fmt: skip
    existing_s = None if job["overwrite"] else _existing_duration_s(wav_file, midi_file, job["sample_rate"])
    exists = existing_s is not None
    if exists:
        result["duration_s"] = existing_s
    try:
        # SIGALRM interrupts the Python loop in pretty_midi's renderer (and music21's
        # parser), so a piece that hangs is abandoned and its worker goes on with the next one.
        with time_limit(job["timeout_s"]):
            score = parse_score(job["path"])
            result["analysis"], result["analysis_error"] = _analysis_fields(score)
            if exists:
                result["status"] = "exists"
                return result
            midi_bytes, audio = _render_score(score, job)
        atomic_write_bytes(midi_file, midi_bytes)
        atomic_write_bytes(wav_file, _wav_bytes(audio, job["sample_rate"]))
        result.update(status="ok", duration_s=audio.size / job["sample_rate"])
    except TimeLimitExceeded:
        result["reason"] = f"timed out after {job['timeout_s']:g} s"
    except Exception as err:  # a batch job reports the bad piece and goes on
        result["reason"] = _reason(err)
    finally:
        result["elapsed_s"] = time.perf_counter() - started
    if exists and result["status"] == "failed":
        # the score no longer parses (or timed out), but the audio on disk is complete: keep it, unlabelled
        result.update(status="exists", analysis={}, analysis_error=result["reason"], reason="")
    return result
