"""Beat-aligned equal-power crossfade of two audio files."""

import json

import librosa
import numpy as np
import pytest
import soundfile as sf

from common.errors import ParameterError
from generate import sounds
from generate.crossfade import beat_aligned_crossfade, equal_power_gains

SR = 8000


def beat_track_audio(bpm, seconds, seed):
    """Clicks at ``bpm`` over a quiet tone, so the beat tracker has beats to find."""
    times = np.arange(0.25, seconds, 60.0 / bpm)
    clicks = librosa.clicks(times=times, sr=SR, click_freq=1500.0, length=int(seconds * SR))
    t = np.arange(int(seconds * SR)) / SR
    noise = 0.01 * np.random.default_rng(seed).standard_normal(t.shape)
    return (0.5 * clicks + 0.1 * np.sin(2 * np.pi * 220 * t) + noise).astype(np.float32)


def test_gains_keep_power():
    fade_out, fade_in = equal_power_gains(1000)
    np.testing.assert_allclose(fade_out**2 + fade_in**2, 1.0, atol=1e-6)
    assert fade_out[0] > 0.99 and fade_in[-1] > 0.99


def test_crossfade_starts_on_beats_and_reports_the_tempo_difference():
    a, b = beat_track_audio(120, 8.0, 0), beat_track_audio(126, 8.0, 1)
    audio, report = beat_aligned_crossfade(a, b, SR, fade_beats=4)
    start_a, start_b = round(report["fade_start_a_s"] * SR), round(report["fade_start_b_s"] * SR)
    assert len(audio) == start_a + len(b) - start_b  # exact to the sample
    assert report["beat_aligned_a"] and report["beat_aligned_b"]
    assert report["tempo_difference_bpm"] == pytest.approx(6.0, abs=2.0)
    assert report["fade_s"] == pytest.approx(4 * 60.0 / report["tempo_a_bpm"], abs=1e-3)
    # the fade starts on a click of each file (the tracker's beats lag the clicks by up to ~70 ms here)
    clicks_a, clicks_b = np.arange(0.25, 8.0, 0.5), np.arange(0.25, 8.0, 60 / 126)
    assert np.min(np.abs(clicks_a - report["fade_start_a_s"])) < 0.1
    assert np.min(np.abs(clicks_b - report["fade_start_b_s"])) < 0.1
    np.testing.assert_array_equal(audio[:start_a], a[:start_a])


def test_crossfade_cli_writes_wav_and_report(tmp_path):
    sf.write(tmp_path / "a.wav", beat_track_audio(120, 8.0, 0), SR)
    sf.write(tmp_path / "b.wav", beat_track_audio(100, 8.0, 1), SR)
    out = tmp_path / "x.wav"
    argv = ["crossfade", "--input", str(tmp_path / "a.wav"), "--input-b", str(tmp_path / "b.wav"), "--out", str(out)]
    assert sounds.main(argv) == 0
    audio, rate = sf.read(out)
    report = json.loads(out.with_suffix(".json").read_text())
    assert rate == SR and len(audio) == report["audio_samples"] and report["tempo_difference_bpm"] < 0
    page = out.with_suffix(".html").read_text()  # the listening page: one player, the fade's ends marked
    assert 'src="x.wav"' in page and 'src="x.png"' in page and (tmp_path / "x.png").is_file()


def test_crossfade_bad_input(tmp_path, capsys):
    with pytest.raises(ParameterError, match="duration_a"):
        beat_aligned_crossfade(np.zeros(SR), np.zeros(10 * SR), SR, fade_beats=4)
    out = tmp_path / "x.wav"
    out.write_bytes(b"keep")
    argv = ["crossfade", "--input", str(tmp_path / "missing.wav"), "--input-b", str(tmp_path / "b.wav"), "--out", str(out)]
    assert sounds.main(argv) == 2
    assert "missing.wav" in capsys.readouterr().err and out.read_bytes() == b"keep"
