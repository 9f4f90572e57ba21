"""Generation beyond one clip (generate.long_form): lengths, seams, reproducibility and bad input, on the tiny DDIM."""

import numpy as np
import pytest
import soundfile as sf

from common.errors import ParameterError
from evaluation.seams import seam_ratio
from generate import long_form, sounds
from tests.conftest import TINY_SAMPLE_RATE, write_tones

SR = TINY_SAMPLE_RATE
STEPS = 2
SEAM_TOLERANCE = 3.0  # join flux / within flux; a barely trained model is noisy, so loose


@pytest.fixture(scope="module")
def tiny(runs):
    from generate.sound_generator import SoundGenerator
    from generate.trained_model import TrainedModel

    return TrainedModel(runs / "ddim").model, SoundGenerator.from_model_dir(runs / "ddim", n_iter=4)


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    """A 2.5 s WAV of tones at the tiny rate (the tiny window is 1.024 s)."""
    folder = write_tones(tmp_path_factory.mktemp("song"), count=1, seconds=2.5)
    return folder / "tone00.wav"


def test_inpaint_keeps_the_known_part_and_equals_generate_without_one(tiny):
    model, _ = tiny
    shape = (2,) + tuple(model.data_shape)
    free = model.inpaint(np.zeros(shape, np.float32), 0.0, diffusion_steps=STEPS, seeds=[3, 4])
    np.testing.assert_array_equal(free, model.generate(seeds=[3, 4], diffusion_steps=STEPS))
    known = np.random.default_rng(0).uniform(size=shape).astype(np.float32)
    mask = np.zeros(shape[2], np.float32)
    mask[:40] = 1
    out = model.inpaint(known, mask[None, None, :], diffusion_steps=STEPS, seeds=[3, 4], resample=2)
    np.testing.assert_array_equal(out[:, :, :40], known[:, :, :40])
    assert not np.allclose(out[:, :, 40:], known[:, :, 40:])
    with pytest.raises(ParameterError, match="resample"):
        model.inpaint(known, mask, resample=0)


def test_window_plan_covers_every_frame_with_known_context():
    plan = long_form.window_plan(np.zeros(300, bool), 128, 64)
    assert plan[0] == (0, 0) and all(first - start == 64 for start, first in plan[1:-1])
    assert plan[-1][0] == 300 - 128
    gap = np.ones(400, bool)
    gap[150:200] = False
    assert long_form.window_plan(gap, 128, 64) == [(86, 150)]


def test_window_plan_on_a_grid_starts_windows_on_its_lines_and_still_covers_every_frame():
    plan = long_form.window_plan(np.zeros(320, bool), 64, 32, grid=16)
    assert [start for start, _ in plan] == [0, 32, 64, 96, 128, 160, 192, 224, 256]
    prompt = np.arange(100) < 43  # a prompt ending mid-bar: the next window starts on the bar line before 43 - 32
    plan = long_form.window_plan(prompt, 64, 32, grid=16)
    assert plan[:2] == [(0, 43), (32, 64)]
    assert plan[2] == (36, 96)  # the last window must reach frame 99: it leaves the grid rather than miss a frame
    for grid in (0, 33):
        with pytest.raises(ParameterError, match=f"grid={grid}"):
            long_form.window_plan(prompt, 64, 32, grid=grid)


def test_long_piece_exact_length_reproducible_and_seamless(tiny):
    model, sound_generator = tiny
    audio, piece, plan = long_form.long_piece(model, sound_generator, 2.5, STEPS, seed=7)
    assert audio.shape == (int(2.5 * SR),) and audio.dtype == np.float32 and np.isfinite(audio).all()
    assert len(plan) > 2 and piece.shape[1] >= 2.5 * SR / 64
    again, _, _ = long_form.long_piece(model, sound_generator, 2.5, STEPS, seed=7)
    np.testing.assert_array_equal(audio, again)
    other, _, _ = long_form.long_piece(model, sound_generator, 2.5, STEPS, seed=8)
    assert not np.allclose(audio, other)
    seams = seam_ratio(audio, SR, long_form.piece_joins(plan, 64))
    assert 0 < seams["ratio"] < SEAM_TOLERANCE
    short, _, _ = long_form.long_piece(model, sound_generator, 0.3001, STEPS)  # under one window
    assert short.shape == (round(0.3001 * SR),)


def test_continuation_and_gap_keep_the_input(tiny, song):
    model, sound_generator = tiny
    original, _ = sf.read(song, dtype="float32")
    fade = int(long_form.FADE_S * SR)
    audio, _, _ = long_form.continuation(model, sound_generator, song, 1.25, STEPS, seed=1)
    assert audio.shape == (len(original) + int(1.25 * SR),)
    np.testing.assert_allclose(audio[: len(original) - fade], original[: len(original) - fade], atol=1e-6)
    filled, _, plan = long_form.gap_fill(model, sound_generator, song, 1.0, 1.5, STEPS, seed=1)
    assert filled.shape == original.shape and len(plan) == 1
    np.testing.assert_allclose(filled[: SR - fade], original[: SR - fade], atol=1e-6)
    np.testing.assert_allclose(filled[int(1.5 * SR) + fade :], original[int(1.5 * SR) + fade :], atol=1e-6)
    assert not np.allclose(filled[SR : int(1.5 * SR)], original[SR : int(1.5 * SR)])


def test_loop_wraps_around(tiny):
    model, sound_generator = tiny
    audio, piece, _ = long_form.loop(model, sound_generator, 1.5, STEPS, seed=2)
    frames = piece.shape[1]
    assert frames == round(1.5 * SR / 64) and audio.shape == (frames * 64,)
    seams = seam_ratio(np.tile(audio, 2), SR, [len(audio)])
    assert 0 < seams["ratio"] < SEAM_TOLERANCE


def test_interpolation_ends_at_both_seeds(tiny):
    model, sound_generator = tiny
    clips, audio, _ = long_form.interpolation(model, sound_generator, 5, 6, 3, STEPS, duration_s=2.0)
    assert len(clips) == 3 and all(c.shape == (128 * 64,) for c in clips) and audio.shape == (2 * SR,)
    expected = long_form.invert(sound_generator, model.generate(seeds=[6], diffusion_steps=STEPS)[0, ..., 0], 128 * 64, 5)
    np.testing.assert_allclose(clips[-1], expected, atol=1e-5)
    np.testing.assert_allclose(long_form.slerp(np.ones(4), -np.ones(4) + 1e-3, 0.0), np.ones(4), atol=1e-6)


def test_cli_writes_the_piece_and_report(runs, tmp_path, capsys):
    out = tmp_path / "long.wav"
    argv = ["long", "--model", str(runs / "ddim"), "--duration", "1.5", "--steps", "2", "--seed", "3", "--out", str(out)]
    assert sounds.main(argv) == 0
    audio, sr = sf.read(out)
    assert sr == SR and len(audio) == int(1.5 * SR)
    assert (tmp_path / "long.json").is_file()
    assert 'src="long.wav"' in (tmp_path / "long.html").read_text() and (tmp_path / "long.png").is_file()
    assert "window 1/" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra, message",
    [
        (["long", "--duration", "0"], "duration=0"),
        (["long", "--duration", "-2"], "duration=-2"),
        (["long", "--duration", "700"], "duration=700"),
        (["continue", "--input", "SHORT", "--duration", "1"], "shorter than one model window"),
        (["continue", "--input", "MISSING", "--duration", "1"], "not found"),
        (["continue", "--input", "GARBAGE", "--duration", "1"], "GARBAGE"),
        (["inpaint", "--input", "SONG", "--gap", "2.0", "3.0"], "gap"),
        (["inpaint", "--input", "SONG", "--gap", "1.0", "0.5"], "gap"),
        (["interpolate", "--num", "1"], "num=1"),
    ],
)
def test_cli_bad_input_exits_2_and_writes_nothing(runs, song, tmp_path, capsys, extra, message):
    short = tmp_path / "short.wav"
    sf.write(short, np.zeros(SR // 2, np.float32), SR)
    garbage = tmp_path / "GARBAGE.wav"
    garbage.write_bytes(b"not audio at all")
    names = {"SHORT": str(short), "MISSING": str(tmp_path / "missing.wav"), "GARBAGE": str(garbage), "SONG": str(song)}
    out = tmp_path / "kept.wav"
    out.write_bytes(b"keep me")
    argv = [names.get(a, a) for a in extra] + ["--model", str(runs / "ddim"), "--steps", "2", "--out", str(out)]
    assert sounds.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert out.read_bytes() == b"keep me"


def test_ddim_inversion_recovers_the_noise_of_a_sample():
    """On the shipped model: noise -> DDIM sample -> inversion gives back (nearly) the same noise, at the
    steps the interpolation of real clips uses (`MIN_INVERSION_STEPS`; at 20 the resampled clip is off)."""
    from keras import ops

    from generate.long_form import MIN_INVERSION_STEPS
    from models.sampler_folder import load_sampler

    model = load_sampler("saved_models/chorales_ddim")
    steps = MIN_INVERSION_STEPS
    sample = model.generate(seeds=[0], diffusion_steps=steps)
    noise = model.invert_to_noise(sample, steps)
    original = np.random.default_rng(0).standard_normal(model.data_shape).astype(np.float32)
    assert np.corrcoef(noise.ravel(), original.ravel())[0, 1] > 0.9
    again = np.asarray(model.destandardise(model.reverse_diffusion(ops.convert_to_tensor(noise), steps)))
    assert np.mean((again - sample) ** 2) < 0.2 * np.var(sample)
    with pytest.raises(ParameterError, match="diffusion_steps=0"):
        model.invert_to_noise(sample, 0)


def test_interpolation_between_two_real_clips(runs, song, tmp_path, capsys):
    other = write_tones(tmp_path / "other", count=2, seconds=2.0) / "tone01.wav"
    out = tmp_path / "interp"
    argv = ["interpolate", "--model", str(runs / "ddim"), "--input", str(song), "--input-b", str(other),
            "--num", "3", "--steps", "2", "--out", str(out)]
    assert sounds.main(argv) == 0
    clips = [sf.read(out / f"interpolation_{i:02d}.wav")[0] for i in range(3)]
    assert all(len(c) == 128 * 64 for c in clips) and len(sf.read(out / "continuous.wav")[0]) == 3 * 128 * 64
    assert sounds.main(argv[:5] + ["--out", str(tmp_path / "x")]) == 2  # --input without --input-b
    assert "input_b=None" in capsys.readouterr().err


def test_long_pieces_are_inverted_in_crossfaded_blocks(tiny):
    model, sound_generator = tiny
    rng = np.random.default_rng(0)
    piece = np.clip(0.5 + 0.1 * rng.standard_normal((128, 300)), 0, 1).astype(np.float32)
    n_samples = 300 * 64
    blocks = long_form.invert(sound_generator, piece, n_samples, seed=1, block_frames=128, block_overlap=16)
    again = long_form.invert(sound_generator, piece, n_samples, seed=1, block_frames=128, block_overlap=16)
    assert blocks.shape == (n_samples,) and np.array_equal(blocks, again)
    joins = long_form.block_joins(300, 64, block_frames=128, block_overlap=16)
    assert joins == [(112 + 8) * 64, (224 + 8) * 64]
    assert seam_ratio(blocks, SR, joins)["ratio"] < SEAM_TOLERANCE
    # a piece within one block is inverted in one pass, as before
    short = piece[:, :100]
    np.testing.assert_array_equal(
        long_form.invert(sound_generator, short, 6400, seed=1, block_frames=128, block_overlap=16),
        long_form.invert(sound_generator, short, 6400, seed=1),
    )
    with pytest.raises(ParameterError, match="block_overlap=100"):
        long_form.invert(sound_generator, piece, n_samples, block_frames=128, block_overlap=100)
