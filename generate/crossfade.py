"""Crossfading two audio files on a beat: the end of one flows into the start of the other.

Beats come from librosa's dynamic-programming beat tracker (D. P. W. Ellis,
"Beat tracking by dynamic programming", J. New Music Research 36(1), 2007;
``librosa.beat.beat_track``, on a 10 ms onset hop). The fade is equal-power: gains cos(pi/2 u) and
sin(pi/2 u), u from 0 to 1, whose squares sum to 1, so two uncorrelated signals
keep their power through it. No time-stretching is done; the tempo difference
is reported so the user can judge the join.
"""

import librosa
import numpy as np

from common.errors import ParameterError


def equal_power_gains(n):
    """``(fade_out, fade_in)`` gains over ``n`` samples, float32 ``(n,)`` each; ``out**2 + in**2 == 1``."""
    u = (np.arange(n) + 0.5) / max(1, n)
    return np.cos(np.pi / 2 * u).astype(np.float32), np.sin(np.pi / 2 * u).astype(np.float32)


def _beats(audio, sample_rate):
    # a 10 ms onset hop: librosa's default 512 samples is 64 ms at 8 kHz, too coarse for the tempo
    hop_length = max(1, int(round(0.01 * sample_rate)))
    tempo, beats = librosa.beat.beat_track(y=audio, sr=sample_rate, units="samples", hop_length=hop_length)
    return float(np.atleast_1d(tempo)[0]), np.asarray(beats, dtype=np.int64)


def beat_aligned_crossfade(audio_a, audio_b, sample_rate, fade_beats=4):
    """``audio_a`` then ``audio_b``, crossfaded over ``fade_beats`` beats that start on a beat of each.

    The fade starts on the last beat of A that leaves a whole fade before A's end, and
    on B's first beat (B's audio before that beat is dropped); its length is
    ``fade_beats`` beats at A's tempo. Where a file has no detected beat, its fade
    point falls back to the latest (A) or earliest (B) possible sample, and the report
    says so.

    Args:
        audio_a, audio_b: float mono ``(n_samples,)`` at ``sample_rate``.
        sample_rate: Hz.
        fade_beats: int >= 1, fade length in beats of A.
    Returns:
        ``(audio, report)``: float32 ``(start_a + len(audio_b) - start_b,)``, and a dict with
        ``tempo_a_bpm``, ``tempo_b_bpm``, ``tempo_difference_bpm``, ``tempo_difference_percent``,
        ``fade_start_a_s``, ``fade_start_b_s``, ``fade_s``, ``beat_aligned_a``, ``beat_aligned_b``.
    Raises:
        ParameterError: if ``fade_beats`` < 1, or a file is shorter than the fade (naming which).
    """
    if int(fade_beats) < 1:
        raise ParameterError(f"fade_beats must be >= 1. Received: fade_beats={fade_beats}")
    audio_a, audio_b = np.asarray(audio_a, np.float32), np.asarray(audio_b, np.float32)
    tempo_a, beats_a = _beats(audio_a, sample_rate)
    tempo_b, beats_b = _beats(audio_b, sample_rate)
    beat_s = 60.0 / tempo_a if tempo_a > 0 else 0.5
    fade = int(round(int(fade_beats) * beat_s * sample_rate))
    for name, audio in (("a", audio_a), ("b", audio_b)):
        if len(audio) < 2 * fade:
            raise ParameterError(
                f"Input {name} is shorter than twice the fade ({2 * fade / sample_rate:.2f} s). "
                f"Received: duration_{name}={len(audio) / sample_rate:.2f}"
            )
    candidates_a = beats_a[beats_a <= len(audio_a) - fade]
    start_a = int(candidates_a[-1]) if len(candidates_a) else len(audio_a) - fade
    candidates_b = beats_b[beats_b <= len(audio_b) - fade]
    start_b = int(candidates_b[0]) if len(candidates_b) else 0
    fade_out, fade_in = equal_power_gains(fade)
    mixed = audio_a[start_a : start_a + fade] * fade_out + audio_b[start_b : start_b + fade] * fade_in
    audio = np.concatenate([audio_a[:start_a], mixed, audio_b[start_b + fade :]]).astype(np.float32)
    report = {
        "tempo_a_bpm": round(tempo_a, 2),
        "tempo_b_bpm": round(tempo_b, 2),
        "tempo_difference_bpm": round(tempo_b - tempo_a, 2),
        "tempo_difference_percent": round(100.0 * (tempo_b - tempo_a) / tempo_a, 2) if tempo_a > 0 else None,
        "fade_start_a_s": round(start_a / sample_rate, 4),
        "fade_start_b_s": round(start_b / sample_rate, 4),
        "fade_s": round(fade / sample_rate, 4),
        "beat_aligned_a": bool(len(candidates_a)),
        "beat_aligned_b": bool(len(candidates_b)),
    }
    return audio, report
