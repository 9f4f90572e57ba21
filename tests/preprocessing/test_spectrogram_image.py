"""Tests for preprocessing.spectrogram_image: PNG export and import, the Riffusion preset, the CLI."""

import json

import numpy as np
import pytest
import soundfile as sf
from PIL import Image

from common.errors import ParameterError
from preprocessing.log_spectrogram import LogSpectrogramExtractor
from preprocessing.mel_spectrogram import MelSpectrogramExtractor
from preprocessing.spectrogram_image import (
    METADATA_KEY,
    RIFFUSION_MAX_VALUE,
    load_png,
    load_preset_png,
    main,
    riffusion_transform,
    save_png,
    transform_from_metadata,
)


def random_spectrogram(shape=(64, 50), low=-100.0, high=40.0, seed=0):
    return np.random.default_rng(seed).uniform(low, high, shape).astype(np.float32)


def png_text(path):
    with Image.open(path) as image:
        return json.loads(image.text[METADATA_KEY])


def write_tone(path, frequency, seconds, sample_rate=16000, amplitude=0.4):
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    sf.write(path, (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32), sample_rate)


def riffusion_chords(n_frames=30):
    """float32 `(n_frames * 441,)` at 44.1 kHz: C, A minor and G major triads in turn, peak about 0.7."""
    n_samples = n_frames * 441
    t = np.arange(n_samples // 3) / 44100
    chords = [(261.63, 329.63, 392.0), (220.0, 261.63, 329.63), (196.0, 246.94, 293.66)]
    signal = np.concatenate([sum(np.sin(2 * np.pi * f * t) for f in chord) for chord in chords])
    return (0.25 * np.pad(signal, (0, n_samples - len(signal)))).astype(np.float32)


def write_riffusion_png(path, mel, mode="RGB"):
    """Write ``mel`` as Riffusion does: 255 - 255 (v / max)**0.25 truncated to 8 bits, high bands on top, no metadata."""
    pixels = (255 - 255 * (mel / mel.max()) ** 0.25).astype(np.uint8)[::-1]
    if mode == "RGB":
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    elif mode == "RGBA":
        pixels = np.concatenate([np.repeat(pixels[:, :, None], 3, axis=2), np.full(pixels.shape + (1,), 255, np.uint8)], 2)
    elif mode == "I;16":
        pixels = pixels.astype(np.uint16) * 257
    Image.fromarray(pixels).save(path)


def correlation(a, b):
    return float(np.corrcoef(np.ravel(a), np.ravel(b))[0, 1])


# === Round trips ===


def test_linear_round_trip_error_is_the_quantisation_step(tmp_path):
    values = random_spectrogram()
    errors = {}
    for bit_depth in (8, 16):
        path = save_png(values, tmp_path / f"s{bit_depth}.png", bit_depth=bit_depth)
        restored, metadata = load_png(path)
        assert restored.dtype == np.float32 and restored.shape == values.shape
        assert metadata["bit_depth"] == bit_depth and metadata["shape"] == [64, 50]
        assert metadata["scaling"] == {"kind": "linear", "min_value": float(values.min()), "max_value": float(values.max())}
        errors[bit_depth] = np.max(np.abs(restored - values))
        half_step = (values.max() - values.min()) / (2 * (2**bit_depth - 1))
        assert errors[bit_depth] <= half_step * 1.001 + 1e-5
        assert restored.min() == pytest.approx(values.min(), abs=1e-4)  # the extremes are exact
        assert restored.max() == pytest.approx(values.max(), abs=1e-4)
    assert errors[16] < errors[8] / 100


def test_power_round_trip_error_bounds(tmp_path):
    values = 10.0 ** random_spectrogram(low=-4.0, high=3.0)  # linear, 7 decades
    for bit_depth in (8, 16):
        restored, metadata = load_png(save_png(values, tmp_path / "p.png", bit_depth=bit_depth, scaling="power"))
        assert metadata["scaling"] == {"kind": "power", "power": 0.25, "max_value": float(values.max())}
        full = 2**bit_depth - 1
        # error at most half a grey level in u = (v / max)**0.25
        u, u_restored = (values / values.max()) ** 0.25, (restored / values.max()) ** 0.25
        assert np.max(np.abs(u - u_restored)) <= 0.5 / full + 1e-6
        loud = values > 0.1 * values.max()
        relative = np.abs(restored - values)[loud] / values[loud]
        assert np.max(relative) < {8: 0.1, 16: 0.001}[bit_depth]


def test_fixed_bounds_clip(tmp_path):
    values = np.array([[-120.0, -80.0, 0.0, 50.0]])
    restored, _metadata = load_png(save_png(values, tmp_path / "c.png", min_value=-80.0, max_value=40.0, bit_depth=16))
    np.testing.assert_allclose(restored, [[-80.0, -80.0, 0.0, 40.0]], atol=0.001)
    restored, _ = load_png(save_png(values + 120, tmp_path / "d.png", scaling="power", max_value=100.0, bit_depth=16))
    np.testing.assert_allclose(restored, [[0.0, 40.0, 100.0, 100.0]], atol=0.01)


def test_constant_and_silent_spectrograms(tmp_path):
    restored, _ = load_png(save_png(np.full((4, 3), -7.5), tmp_path / "c.png"))
    np.testing.assert_array_equal(restored, -7.5)
    restored, _ = load_png(save_png(np.zeros((4, 3)), tmp_path / "z.png", scaling="power"))
    np.testing.assert_array_equal(restored, 0.0)


def test_power_scaling_is_riffusions_image_convention(tmp_path):
    values = 10.0 ** random_spectrogram((16, 8), low=-2.0, high=2.0)
    save_png(values, tmp_path / "r.png", scaling="power", power=0.25)
    with Image.open(tmp_path / "r.png") as image:
        assert image.mode == "L" and image.size == (8, 16)
        pixels = np.asarray(image)
    # Riffusion: 255 - 255 * (v / max)**0.25, low frequencies at the bottom (it truncates, this rounds)
    expected = (255 - 255 * (values / values.max()) ** 0.25)[::-1]
    assert np.max(np.abs(pixels - expected)) <= 0.5 + 1e-9


# === Orientation and metadata ===


def test_low_tone_lands_in_the_bottom_rows(tmp_path):
    sample_rate = 8000
    transform = MelSpectrogramExtractor(sample_rate, n_fft=256, hop_length=64, n_mels=40)
    t = np.arange(4000) / sample_rate
    mel = transform.extract((0.5 * np.sin(2 * np.pi * 200.0 * t)).astype(np.float32))
    band = int(np.argmax(mel[:, 10]))
    assert band < 8  # 200 Hz is a low band
    save_png(mel, tmp_path / "low.png", transform=transform)
    with Image.open(tmp_path / "low.png") as image:
        pixels = np.asarray(image)
    brightest_rows = np.argmax(pixels[:, 5:-5], axis=0)  # linear scaling: loud is light
    assert np.all(brightest_rows == 40 - 1 - band)
    assert np.all(brightest_rows >= 32)  # in the bottom fifth of the image


def test_metadata_is_stored(tmp_path):
    transform = MelSpectrogramExtractor(8000, n_fft=256, hop_length=64, n_mels=40)
    path = save_png(random_spectrogram((40, 20)), tmp_path / "m.png", bit_depth=16, transform=transform, n_samples=1300)
    metadata = png_text(path)
    assert metadata["format"] == "spectrogram-png" and metadata["version"] == 1
    assert metadata["bit_depth"] == 16 and metadata["shape"] == [40, 20]
    assert metadata["transform"] == {"class": "MelSpectrogramExtractor", "config": transform.get_config()}
    assert metadata["n_samples"] == 1300
    assert set(metadata["scaling"]) == {"kind", "min_value", "max_value"}
    with Image.open(path) as image:
        assert image.mode == "I;16" and image.format == "PNG"
    rebuilt = transform_from_metadata(load_png(path)[1])
    assert rebuilt.get_config() == transform.get_config()
    log_stft = LogSpectrogramExtractor(8000, n_fft=256, hop_length=64)
    stored = load_png(save_png(random_spectrogram((128, 5)), tmp_path / "l.png", transform=log_stft))[1]
    assert type(transform_from_metadata(stored)) is LogSpectrogramExtractor
    with pytest.raises(ParameterError, match="holds no transform.*n.png"):
        transform_from_metadata(load_png(save_png(random_spectrogram(), tmp_path / "n.png"))[1], "n.png")


def test_png_without_metadata_is_rejected_naming_the_file(tmp_path):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "plain.png")
    with pytest.raises(ParameterError, match=r"no 'spectrogram' PNG text chunk.*plain\.png"):
        load_png(tmp_path / "plain.png")
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ParameterError, match=r"could not be read.*text\.png"):
        load_png(tmp_path / "text.png")
    with pytest.raises(ParameterError, match=r"not found.*missing\.png"):
        load_png(tmp_path / "missing.png")


def test_bad_values_are_rejected_and_nothing_is_written(tmp_path):
    with pytest.raises(ParameterError, match="values >= 0"):
        save_png(random_spectrogram(), tmp_path / "a.png", scaling="power")
    with pytest.raises(ParameterError, match="non-finite"):
        save_png(np.array([[1.0, np.nan]]), tmp_path / "a.png")
    with pytest.raises(ParameterError, match="2-D"):
        save_png(np.zeros(5), tmp_path / "a.png")
    with pytest.raises(ParameterError, match="Received: bit_depth=12"):
        save_png(random_spectrogram(), tmp_path / "a.png", bit_depth=12)
    with pytest.raises(ParameterError, match="Received: scaling='log'"):
        save_png(random_spectrogram(), tmp_path / "a.png", scaling="log")
    with pytest.raises(ParameterError, match="Received: power=0"):
        save_png(np.ones((2, 2)), tmp_path / "a.png", scaling="power", power=0)
    assert list(tmp_path.iterdir()) == []


# === Riffusion preset ===


def test_riffusion_preset_gives_512_by_512_for_5_12_seconds():
    transform = riffusion_transform()
    config = transform.get_config()
    assert (config["sample_rate"], config["hop_length"], config["win_length"], config["n_fft"]) == (44100, 441, 4410, 17640)
    assert (config["n_mels"], config["fmin"], config["fmax"], config["power"]) == (512, 0.0, 10000.0, 1.0)
    assert (config["htk"], config["norm"], config["log"]) == (True, None, False)
    assert (config["nnls_iterations"], config["griffin_lim"]) == (20, "coarse_to_fine")  # the fast inverse
    n_samples = round(5.12 * 44100)
    assert transform.frames_for(n_samples) == 512
    t = np.arange(n_samples) / 44100
    mel = transform.extract((0.3 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32))
    assert mel.shape == (512, 512) and np.all(mel >= 0)


# === CLI ===


def test_cli_audio_to_image_to_audio(tmp_path, capsys):
    write_tone(tmp_path / "in.wav", 440.0, seconds=1.3)
    assert main(["to-image", str(tmp_path / "in.wav"), str(tmp_path / "out.png"), "--bit-depth", "16"]) == 0
    metadata = png_text(tmp_path / "out.png")
    assert metadata["transform"]["class"] == "MelSpectrogramExtractor" and metadata["n_samples"] == 20800
    assert metadata["shape"] == [128, 81]
    assert main(["to-audio", str(tmp_path / "out.png"), str(tmp_path / "out.wav"), "--griffin-lim-iters", "16"]) == 0
    audio, sample_rate = sf.read(tmp_path / "out.wav")
    assert sample_rate == 16000 and audio.shape == (20800,)
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(len(audio))))
    peak_hz = np.argmax(spectrum) * sample_rate / len(audio)
    assert abs(peak_hz - 440.0) < 10.0
    assert "out.wav" in capsys.readouterr().out


def test_cli_riffusion_preset(tmp_path):
    write_tone(tmp_path / "in.wav", 880.0, seconds=0.3)
    assert main(["to-image", str(tmp_path / "in.wav"), str(tmp_path / "r.png"), "--preset", "riffusion"]) == 0
    with Image.open(tmp_path / "r.png") as image:
        assert image.mode == "L" and image.size == (30, 512)  # 0.3 s at 10 ms hops; 512 mel rows
    assert png_text(tmp_path / "r.png")["scaling"]["kind"] == "power"
    assert main(["to-audio", str(tmp_path / "r.png"), str(tmp_path / "r.wav"), "--griffin-lim-iters", "2"]) == 0
    assert sf.info(str(tmp_path / "r.wav")).samplerate == 44100
    assert sf.info(str(tmp_path / "r.wav")).frames == round(0.3 * 44100)


def test_cli_imports_a_riffusion_image_with_the_preset(tmp_path, capsys):
    transform = riffusion_transform()
    mel = transform.extract(riffusion_chords(30))  # (512, 30)
    write_riffusion_png(tmp_path / "riff.png", mel)
    argv = ["to-audio", str(tmp_path / "riff.png"), str(tmp_path / "riff.wav"), "--griffin-lim-iters", "8"]
    assert main(argv) == 2  # without the preset: refused, naming the file and the preset
    err = capsys.readouterr().err
    assert "no 'spectrogram' PNG text chunk" in err and "--preset riffusion" in err and "riff.png" in err
    assert not (tmp_path / "riff.wav").exists()
    assert main(argv + ["--preset", "riffusion"]) == 0
    err_lines = capsys.readouterr().err.splitlines()
    assert len(err_lines) == 1 and err_lines[0].startswith("warning: ") and "riff.png" in err_lines[0]
    assert "riffusion preset" in err_lines[0] and "915.5" in err_lines[0] and "no spectrogram metadata" in err_lines[0]
    audio, sample_rate = sf.read(tmp_path / "riff.wav", dtype="float32")
    assert sample_rate == 44100 and audio.shape == (30 * 441,)
    heard = transform.extract(audio) ** 0.25  # on Riffusion's own scale, (512, 30)
    assert correlation(heard, mel**0.25) > 0.8
    assert correlation(heard, mel[:, ::-1] ** 0.25) < correlation(heard, mel**0.25) - 0.1  # the chords in their order


def test_load_preset_png_reads_riffusions_scale(tmp_path):
    mel = riffusion_transform().extract(riffusion_chords(12))
    for mode in ("RGB", "L"):
        write_riffusion_png(tmp_path / f"{mode}.png", mel, mode=mode)
        values, metadata = load_preset_png(tmp_path / f"{mode}.png")
        assert values.dtype == np.float32 and values.shape == (512, 12)
        assert metadata["scaling"] == {"kind": "power", "power": 0.25, "max_value": RIFFUSION_MAX_VALUE}
        assert metadata["n_samples"] == 12 * 441 and metadata["transform"]["config"]["n_mels"] == 512
        # the image's own max reads as Riffusion's assumed one; below it, truncation to 8 bits loses < 1 grey level
        assert values.max() == pytest.approx(RIFFUSION_MAX_VALUE, rel=1e-6)
        u, u_read = (mel / mel.max()) ** 0.25, (values / RIFFUSION_MAX_VALUE) ** 0.25
        assert np.all(u_read >= u - 1e-6) and np.all(u_read - u < 1 / 255 + 1e-6)
    assert RIFFUSION_MAX_VALUE == pytest.approx(30e6 / 32768)


def test_load_preset_png_reads_a_stereo_image_as_the_mean_of_its_channels(tmp_path, capsys):
    mel = riffusion_transform().extract(riffusion_chords(12))
    quiet = mel * 0.1  # the right channel, 20 dB below the left
    scale = max(mel.max(), quiet.max())
    grey = [(255 - 255 * (m / scale) ** 0.25).astype(np.uint8)[::-1] for m in (mel, quiet)]
    # Riffusion's stereo layout: R = 0, G = left, B = right
    Image.fromarray(np.stack([np.zeros_like(grey[0]), grey[0], grey[1]], axis=2)).save(tmp_path / "stereo.png")
    write_riffusion_png(tmp_path / "left.png", mel)
    values, metadata = load_preset_png(tmp_path / "stereo.png")
    left, left_metadata = load_preset_png(tmp_path / "left.png")
    assert metadata["stereo"] is True and left_metadata["stereo"] is False
    assert values.shape == (512, 12) and np.isfinite(values).all()
    # the mean of the two channels: 0.55 of the left's (not the red channel's "loudest everywhere")
    loud = left > 0.01 * left.max()
    ratio = np.median(values[loud] / left[loud])
    assert ratio == pytest.approx(0.55, rel=0.05)
    assert values.max() < RIFFUSION_MAX_VALUE
    argv = ["to-audio", str(tmp_path / "stereo.png"), str(tmp_path / "out.wav"), "--preset", "riffusion"]
    assert main(argv) == 0
    assert "stereo (R = 0)" in capsys.readouterr().err


def test_cli_preset_refuses_wrong_height_and_mode(tmp_path, capsys):
    mel = riffusion_transform().extract(riffusion_chords(12))
    write_riffusion_png(tmp_path / "short.png", mel[:500])
    write_riffusion_png(tmp_path / "alpha.png", mel, mode="RGBA")
    write_riffusion_png(tmp_path / "deep.png", mel, mode="I;16")
    before = sorted(p.name for p in tmp_path.iterdir())
    for name, culprit in [("short.png", "height=500"), ("alpha.png", "mode='RGBA'"), ("deep.png", "mode='I;16'")]:
        assert main(["to-audio", str(tmp_path / name), str(tmp_path / "out.wav"), "--preset", "riffusion"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and culprit in err and name in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_cli_metadata_wins_over_the_preset(tmp_path, capsys):
    write_tone(tmp_path / "in.wav", 660.0, seconds=0.305, sample_rate=44100)  # 13450 samples: not 30 x 441
    assert main(["to-image", str(tmp_path / "in.wav"), str(tmp_path / "own.png"), "--preset", "riffusion"]) == 0
    capsys.readouterr()
    argv = ["to-audio", str(tmp_path / "own.png"), str(tmp_path / "own.wav"), "--griffin-lim-iters", "2"]
    assert main(argv + ["--preset", "riffusion"]) == 0
    err_lines = capsys.readouterr().err.splitlines()
    assert len(err_lines) == 1 and "--preset riffusion ignored" in err_lines[0] and "own.png" in err_lines[0]
    assert sf.info(str(tmp_path / "own.wav")).frames == 13450  # the stored length, not width * 441


def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, capsys):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "plain.png")
    (tmp_path / "broken.wav").write_bytes(b"RIFF0000WAVEjunk")
    write_tone(tmp_path / "tiny.wav", 440.0, seconds=0.001)  # 16 samples, shorter than one hop
    save_png(random_spectrogram(), tmp_path / "nameless.png")  # no transform stored
    cases = [
        ["to-image", str(tmp_path / "missing.wav"), str(tmp_path / "out.png")],
        ["to-image", str(tmp_path / "broken.wav"), str(tmp_path / "out.png")],
        ["to-image", str(tmp_path / "tiny.wav"), str(tmp_path / "out.png")],
        ["to-audio", str(tmp_path / "plain.png"), str(tmp_path / "out.wav")],
        ["to-audio", str(tmp_path / "nameless.png"), str(tmp_path / "out.wav")],
        ["to-audio", str(tmp_path / "missing.png"), str(tmp_path / "out.wav")],
        ["to-audio", str(tmp_path / "nameless.png"), str(tmp_path / "out.wav"), "--griffin-lim-iters", "0"],
    ]
    before = sorted(p.name for p in tmp_path.iterdir())
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err
        assert str(tmp_path / argv[1].split("/")[-1]) in err or "griffin" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
