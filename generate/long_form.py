"""Generation beyond one clip: long pieces, continuations, gap filling, loops and interpolations.

One model window is ``W`` frames (192 for the default model: 3.072 s). A longer
piece is a spectrogram of ``T > W`` frames filled window after window, left to
right: each window starts ``overlap`` frames before the first frame still
unknown, and `models.diffusion.DiffusionModel.inpaint` (masked DDIM, Lugmayr et al.
2022) generates its unknown frames given the known ones (the end of the
previous window, the user's audio, the other side of a gap). Frames are
joined in the representation's own domain and the piece is inverted in one
pass (the exact inverse MDCT) or in Griffin-Lim blocks of up to
``BLOCK_FRAMES`` frames (24.6 s for the default model) crossfaded over
``BLOCK_OVERLAP`` frames, so there is no window seam in the audio domain. The
network's memory is that of one window and Griffin-Lim's that of one block,
whatever the duration; only the piece's spectrogram and audio grow linearly
(512 x 62.5 float32 values per second for the default model, 2 MiB/min), and
the duration is bounded by ``MAX_DURATION_S``.

Seeds: window ``k`` of a piece with seed ``s`` samples with seed
``SeedSequence([s, k])``, so a piece is reproducible from its seed and two
seeds give unrelated pieces.
"""

import math

import numpy as np

from common.errors import ParameterError
from generate.crossfade import equal_power_gains
from preprocessing.transform import MIDI

MAX_DURATION_S = 600.0
DEFAULT_OVERLAP = 0.5  # of a window: the known context each new window is inpainted from
FADE_S = 0.05  # equal-power crossfade between the user's audio and generated audio
BLOCK_FRAMES = 1536  # Griffin-Lim inverts at most this many frames at once (8 default windows, 24.6 s)
BLOCK_OVERLAP = 64  # frames two Griffin-Lim blocks share and crossfade over (1.0 s for the default model)


def window_seed(seed, index):
    """The sampling seed of window ``index`` of a piece seeded ``seed``: an int in [0, 2**32)."""
    return int(np.random.SeedSequence([int(seed), int(index)]).generate_state(1)[0])


def check_duration(duration_s, max_duration_s=MAX_DURATION_S, name="duration"):
    """``duration_s`` as a float, checked to be finite, > 0 and <= ``max_duration_s`` seconds.

    Raises:
        ParameterError: naming the value otherwise.
    """
    try:
        value = float(duration_s)
    except (TypeError, ValueError):
        value = float("nan")
    if not math.isfinite(value) or value <= 0 or value > max_duration_s:
        raise ParameterError(
            f"--{name} must be > 0 and <= {max_duration_s:g} seconds (the configured maximum). Received: {name}={duration_s!r}"
        )
    return value


def overlap_frames(width, overlap):
    """Frames of known context per window: ``round(overlap * width)``, checked to be in [1, width - 1].

    Args:
        width: int, frames per model window.
        overlap: float in (0, 1), the fraction of a window.
    Raises:
        ParameterError: if the overlap leaves no known or no new frame.
    """
    frames = int(round(float(overlap) * width))
    if not 1 <= frames <= width - 1:
        raise ParameterError(
            f"--overlap must leave at least one known and one new frame per {width}-frame window. Received: overlap={overlap!r}"
        )
    return frames


def window_plan(known, width, overlap, grid=1):
    """The start frames of the windows that fill every unknown frame, left to right.

    Each window starts ``overlap`` frames before the first unknown frame (at 0 for
    the first one of an empty piece), moved left so that it ends within the piece,
    then moved left onto a multiple of ``grid`` (a score roll's bar lines: the model's
    training clips start on them) unless it would then end before that frame (a last
    window of a piece whose length is not on the grid).

    Args:
        known: bool array ``(T,)``, T >= ``width``: frames already known.
        width: int, frames per window.
        overlap: int, frames of known context before the first unknown frame.
        grid: int in [1, width - overlap], the frames window starts are multiples of (1: any frame).
    Returns:
        List of ``(start, first)`` int pairs: the window's first frame, in [0, T - width],
        and its first unknown frame (where its new frames join the known ones).
    Raises:
        ParameterError: for a ``grid`` outside [1, width - overlap], which could leave a window
            without a new frame.
    """
    if not 1 <= int(grid) <= width - overlap:
        raise ParameterError(f"A window grid must be in [1, {width - overlap}] frames (the window's new frames). "
                             f"Received: grid={grid!r}")
    known = np.array(known, dtype=bool)
    plan = []
    while not known.all():
        first = int(np.argmin(known))
        start = min(max(first - overlap, 0), len(known) - width)
        if start - start % int(grid) + width > first:  # only when it still reaches the first unknown frame
            start -= start % int(grid)
        plan.append((start, first))
        known[start : start + width] = True
    return plan


def fill(model, piece, known, steps, seed=0, overlap=None, eta=0.0, resample=1, initial_noise=None, progress=None):
    """Fill the unknown frames of ``piece`` window by window with masked DDIM.

    Args:
        model: a `models.diffusion.DiffusionModel` whose data shape is ``(n_bins, W, 1)``.
        piece: float array ``(n_bins, T)``, stored scale ([0, 1]); values of unknown frames are ignored.
        known: bool array ``(T,)``.
        steps: int >= 1, DDIM steps per window.
        seed: int; window k samples with `window_seed` (seed, k).
        overlap: int, frames of known context per window (default ``round(DEFAULT_OVERLAP * W)``).
        eta, resample: as in `DiffusionModel.inpaint`.
        initial_noise: optional callable ``(k, n_windows) -> float32 (n_bins, W, 1)``, the
            initial noise of window k (default: drawn from its seed).
        progress: optional callable ``(k, n_windows, start_frame)`` called before each window.
    Returns:
        ``(filled, plan)``: float32 ``(n_bins, T)`` with the known frames unchanged, and the
        `window_plan`. A piece shorter than one window is generated as one window and cut.
    Raises:
        ParameterError: if the piece does not have the model's number of bins.
    """
    n_bins, width = int(model.data_shape[0]), int(model.data_shape[1])
    piece = np.array(piece, dtype=np.float32)
    known = np.array(known, dtype=bool)
    if piece.ndim != 2 or piece.shape[0] != n_bins or known.shape != (piece.shape[1],):
        raise ParameterError(
            f"A piece must be ({n_bins}, T) with a (T,) known mask. Received: piece.shape={piece.shape}, known.shape={known.shape}"
        )
    length = piece.shape[1]
    if length < width:  # one window, cut to the piece
        piece = np.concatenate([piece, np.zeros((n_bins, width - length), np.float32)], axis=1)
        known = np.concatenate([known, np.zeros(width - length, bool)])
    overlap = overlap_frames(width, DEFAULT_OVERLAP) if overlap is None else int(overlap)
    plan = window_plan(known, width, overlap)
    for k, (start, _) in enumerate(plan):
        if progress is not None:
            progress(k, len(plan), start)
        window_known = known[start : start + width]
        noise = None if initial_noise is None else initial_noise(k, len(plan))[None]
        window = model.inpaint(
            piece[None, :, start : start + width], window_known[None, None, :], diffusion_steps=steps,
            seeds=[window_seed(seed, k)], eta=eta, resample=resample, initial_noise=noise,
        )[0, ..., 0]
        new = ~window_known
        piece[:, start : start + width][:, new] = window[:, new]
        known[start : start + width] = True
    return piece[:, :length], plan


def invert(sound_generator, piece, n_samples, seed=0, block_frames=BLOCK_FRAMES, block_overlap=BLOCK_OVERLAP):
    """A whole stored-scale piece ``(n_bins, T)`` to float32 audio of exactly ``n_samples`` samples.

    Each part goes through `SoundGenerator.spectrogram_to_audio` (not limited). An
    exact inverse (the inverse MDCT) runs over the whole piece at once. An iterative
    one (`Transform.iterative_inverse`: Griffin-Lim, STFT and mel) does too up to
    ``block_frames`` frames; a longer piece is inverted in blocks of
    ``block_frames`` frames that overlap by ``block_overlap`` frames, block ``b``
    seeded ``seed + b``, joined by equal-power crossfades over the overlap (gains
    ``cos``/``sin`` of ``pi/2 u``), so memory stays that of one block whatever the
    duration. The result is trimmed or zero-padded to ``n_samples``.

    Raises:
        ParameterError: if ``block_overlap`` is not in [1, block_frames / 2].
    """
    transform = sound_generator.transform
    piece = np.asarray(piece, np.float32)
    frames = piece.shape[1]
    if not transform.iterative_inverse or frames <= block_frames:  # exact inverses, and short pieces
        audio = np.asarray(sound_generator.spectrogram_to_audio(piece, seed=int(seed), length=int(n_samples)),
                           dtype=np.float32)
        return np.pad(audio[:n_samples], (0, max(0, n_samples - len(audio))))
    if not 1 <= block_overlap <= block_frames // 2:
        raise ParameterError(f"block_overlap must be in [1, {block_frames // 2}]. Received: block_overlap={block_overlap}")
    hop = transform.hop_length
    out = np.zeros(transform.samples_for(frames), np.float32)
    fade = block_overlap * hop
    fade_out, fade_in = equal_power_gains(fade)
    start, block = 0, 0
    while True:
        end = min(frames, start + block_frames)
        audio = np.asarray(sound_generator.spectrogram_to_audio(piece[:, start:end], seed=int(seed) + block),
                           dtype=np.float32)
        first = start * hop
        if block == 0:
            out[first : first + len(audio)] = audio
        else:
            out[first : first + fade] = out[first : first + fade] * fade_out + audio[:fade] * fade_in
            out[first + fade : first + len(audio)] = audio[fade:]
        if end == frames:
            break
        start, block = end - block_overlap, block + 1
    return np.pad(out[:n_samples], (0, max(0, n_samples - len(out))))


def block_joins(n_frames, hop_length, block_frames=BLOCK_FRAMES, block_overlap=BLOCK_OVERLAP):
    """Sample positions where `invert`'s Griffin-Lim blocks are joined (the middle of each crossfade)."""
    joins, start = [], 0
    while start + block_frames < n_frames:
        start += block_frames - block_overlap
        joins.append((start + block_overlap // 2) * hop_length)
    return joins


def refuse_midi(transform, mode):
    """Raise a ParameterError for a piano-roll model, which ``mode`` does not handle."""
    if transform.input_kind == MIDI:
        raise ParameterError(
            f"Mode {mode!r} works on audio representations (log_stft, mel, mdct), not on piano rolls. "
            f"Received: representation={type(transform).__name__}"
        )


def long_piece(model, sound_generator, duration_s, steps, seed=0, overlap=None, eta=0.0, resample=1,
               progress=None, max_duration_s=MAX_DURATION_S):
    """A piece of ``duration_s`` seconds, outpainted window after window from nothing.

    Returns:
        ``(audio, piece, plan)``: float32 audio of exactly ``round(duration_s * sample_rate)``
        samples, the stored-scale spectrogram ``(n_bins, T)`` and the `window_plan`.
    Raises:
        ParameterError: for a duration outside (0, ``max_duration_s``] or a piano-roll model.
    """
    duration_s = check_duration(duration_s, max_duration_s)
    transform = sound_generator.transform
    refuse_midi(transform, "long")
    n_samples = max(1, int(round(duration_s * transform.sample_rate)))
    frames = transform.frames_covering(n_samples)
    piece = np.zeros((int(model.data_shape[0]), frames), np.float32)
    piece, plan = fill(model, piece, np.zeros(frames, bool), steps, seed, overlap, eta, resample, progress=progress)
    return invert(sound_generator, piece, n_samples, seed), piece, plan


def load_input(sound_generator, path, width):
    """The user's audio file at the model's sample rate, checked to hold at least one model window.

    Returns:
        ``(audio, piece)``: float32 ``(n_samples,)`` and its stored-scale spectrogram ``(n_bins, T)``,
        clipped to [0, 1].
    Raises:
        ParameterError: naming the file if it is missing, unreadable, or shorter than one window.
    """
    from preprocessing.loader import Loader

    transform = sound_generator.transform
    refuse_midi(transform, "an audio --input")
    audio = Loader(transform.sample_rate).load(path)
    needed = transform.samples_for(width)
    if len(audio) < needed:
        raise ParameterError(
            f"The input is shorter than one model window ({needed / transform.sample_rate:.3f} s): "
            f"{len(audio) / transform.sample_rate:.3f} s. Received: input={str(path)!r}"
        )
    piece = np.clip(sound_generator.codec.encode(audio), 0.0, 1.0).astype(np.float32)
    return audio, piece


def equal_power_splice(original, generated, start, end, fade):
    """``original`` with ``generated`` in samples [start, end), joined by equal-power crossfades.

    Over the ``fade`` samples before ``start`` the gains are ``cos(pi/2 u)`` (original) and
    ``sin(pi/2 u)`` (generated), u from 0 to 1, mirrored after ``end``: their squares sum to
    1, so the power of two uncorrelated signals is kept through the fade.

    Args:
        original, generated: float32 ``(n,)``, the same length.
        start, end: ints, 0 <= start <= end <= n.
        fade: int >= 0, samples.
    Returns:
        float32 ``(n,)``.
    """
    out = np.array(original, np.float32)
    out[start:end] = generated[start:end]
    a = max(0, start - fade)
    u = (np.arange(a, start) - a + 0.5) / max(1, start - a)
    out[a:start] = np.cos(np.pi / 2 * u) * original[a:start] + np.sin(np.pi / 2 * u) * generated[a:start]
    b = min(len(out), end + fade)
    u = (np.arange(end, b) - end + 0.5) / max(1, b - end)
    out[end:b] = np.sin(np.pi / 2 * u) * original[end:b] + np.cos(np.pi / 2 * u) * generated[end:b]
    return out


def continuation(model, sound_generator, path, duration_s, steps, seed=0, overlap=None, eta=0.0, resample=1,
                 progress=None, max_duration_s=MAX_DURATION_S):
    """The user's file followed by ``duration_s`` seconds that continue it.

    The piece is the file's spectrogram followed by new frames, outpainted from the end
    of the file; the output keeps the file's own audio and crossfades (equal power,
    `FADE_S`) into the inverted piece just before the file's end.

    Returns:
        ``(audio, piece, plan)``: float32 audio of exactly ``len(file) + round(duration_s * sr)``
        samples, the spectrogram and the `window_plan`.
    Raises:
        ParameterError: for a bad duration, or a missing, unreadable or too short file.
    """
    duration_s = check_duration(duration_s, max_duration_s)
    transform = sound_generator.transform
    width = int(model.data_shape[1])
    prompt, prompt_piece = load_input(sound_generator, path, width)
    n_samples = len(prompt) + int(round(duration_s * transform.sample_rate))
    frames = transform.frames_covering(n_samples)
    piece = np.zeros((prompt_piece.shape[0], frames), np.float32)
    kept = min(prompt_piece.shape[1], frames)
    piece[:, :kept] = prompt_piece[:, :kept]
    known = np.arange(frames) < kept
    piece, plan = fill(model, piece, known, steps, seed, overlap, eta, resample, progress=progress)
    generated = invert(sound_generator, piece, n_samples, seed)
    original = np.pad(prompt, (0, n_samples - len(prompt)))
    fade = int(FADE_S * transform.sample_rate)
    start = len(prompt)
    audio = equal_power_splice(original, generated, start, n_samples, fade)
    return audio, piece, plan


def gap_fill(model, sound_generator, path, gap_start_s, gap_end_s, steps, seed=0, overlap=None, eta=0.0, resample=1,
             progress=None, max_duration_s=MAX_DURATION_S):
    """The user's file with the gap [``gap_start_s``, ``gap_end_s``) seconds regenerated (inpainted).

    The gap's frames are generated from both sides (the last window holds the right
    context too); the output is the file's audio with the inverted piece in the gap,
    crossfaded (equal power, `FADE_S`) at both ends.

    Returns:
        ``(audio, piece, plan)``: float32 audio of exactly the file's length, the spectrogram
        and the `window_plan`.
    Raises:
        ParameterError: for a gap outside the file or empty, or a missing, unreadable, too
            short or too long file.
    """
    transform = sound_generator.transform
    width = int(model.data_shape[1])
    original, piece = load_input(sound_generator, path, width)
    sr = transform.sample_rate
    file_s = len(original) / sr
    check_duration(file_s, max_duration_s, name="input duration")
    try:
        start_s, end_s = float(gap_start_s), float(gap_end_s)
    except (TypeError, ValueError):
        start_s = end_s = float("nan")
    if not (math.isfinite(start_s) and math.isfinite(end_s) and 0.0 <= start_s < end_s <= file_s):
        raise ParameterError(
            f"The gap must satisfy 0 <= start < end <= {file_s:.3f} s (the input's duration). "
            f"Received: gap=({gap_start_s!r}, {gap_end_s!r})"
        )
    hop = transform.hop_length
    frames = piece.shape[1]
    first = min(frames - 1, int(math.floor(start_s * sr / hop)))
    last = min(frames, max(first + 1, int(math.ceil(end_s * sr / hop))))
    known = np.ones(frames, bool)
    known[first:last] = False
    piece, plan = fill(model, piece, known, steps, seed, overlap, eta, resample, progress=progress)
    generated = invert(sound_generator, piece, len(original), seed)
    fade = int(FADE_S * sr)
    audio = equal_power_splice(original, generated, int(round(start_s * sr)), int(round(end_s * sr)), fade)
    return audio, piece, plan


def loop(model, sound_generator, duration_s, steps, seed=0, overlap=None, eta=0.0, resample=1, progress=None,
         max_duration_s=MAX_DURATION_S):
    """A loop of about ``duration_s`` seconds (at least one window) whose end flows into its start.

    Wrap-around inpainting: a piece of T frames is generated (`long_piece`'s way), rolled
    by T // 2 so that its end and start meet in the middle, and the ``overlap`` frames
    around that meeting point are generated again from both sides; rolled back, its last
    frame leads into its first like any two neighbours. The audio is one period of the
    inverse of three copies of the loop side by side, so it repeats without a click.

    Returns:
        ``(audio, piece, plan)``: float32 audio of exactly ``T * hop_length`` samples
        (a whole number of frames: ``duration_s`` rounded to a frame, at least one window),
        the spectrogram ``(n_bins, T)`` and the `window_plan` (of both passes).
    Raises:
        ParameterError: for a duration outside (0, ``max_duration_s``] or a piano-roll model.
    """
    duration_s = check_duration(duration_s, max_duration_s)
    transform = sound_generator.transform
    refuse_midi(transform, "loop")
    width = int(model.data_shape[1])
    hop = transform.hop_length
    frames = max(width, int(round(duration_s * transform.sample_rate / hop)))
    piece = np.zeros((int(model.data_shape[0]), frames), np.float32)
    piece, plan = fill(model, piece, np.zeros(frames, bool), steps, seed, overlap, eta, resample, progress=progress)
    gap = overlap_frames(width, DEFAULT_OVERLAP) if overlap is None else int(overlap)
    shift = frames // 2
    rolled = np.roll(piece, shift, axis=1)
    known = np.ones(frames, bool)
    known[max(0, shift - gap // 2) : shift + (gap - gap // 2)] = False
    rolled, wrap_plan = fill(model, rolled, known, steps, seed + 1, overlap, eta, resample, progress=progress)
    piece = np.roll(rolled, -shift, axis=1)
    n_samples = frames * hop
    tiled = invert(sound_generator, np.tile(piece, (1, 3)), transform.samples_for(3 * frames), seed)
    audio = tiled[n_samples : 2 * n_samples]
    return audio, piece, plan + [((s - shift) % frames, (f - shift) % frames) for s, f in wrap_plan]


def slerp(a, b, t):
    """Spherical linear interpolation of two noise arrays (Shoemake, SIGGRAPH 1985, eq. on p. 249).

    ``slerp(a, b, t) = sin((1 - t) theta) / sin(theta) a + sin(t theta) / sin(theta) b`` with
    ``theta = arccos(<a, b> / (|a| |b|))``; linear interpolation when theta is ~0. Keeps the
    norm of Gaussian noise (about sqrt(size)), which a straight line between two draws halves.

    Args:
        a, b: float arrays of the same shape.
        t: float in [0, 1].
    Returns:
        float32 array of that shape.
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    cos = np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b))
    theta = np.arccos(np.clip(cos, -1.0, 1.0))
    if theta < 1e-6:
        return ((1 - t) * a + t * b).astype(np.float32)
    return ((np.sin((1 - t) * theta) * a + np.sin(t * theta) * b) / np.sin(theta)).astype(np.float32)


def seed_noise(model, seed):
    """The initial noise `DiffusionModel.generate` starts seed ``seed`` from: float32 ``data_shape``."""
    return np.random.default_rng(int(seed)).standard_normal(model.data_shape).astype(np.float32)


def interpolation(model, sound_generator, seed_a, seed_b, num, steps, duration_s=None, overlap=None,
                  progress=None, max_duration_s=MAX_DURATION_S):
    """Clips between two seeds by slerp of their initial noises, and one continuous piece.

    Clip ``i`` of ``num`` starts from ``slerp(noise_a, noise_b, i / (num - 1))`` (clip 0 is
    `generate`'s sample of ``seed_a``, the last one ``seed_b``'s, with ``eta = 0``). The
    continuous piece of ``duration_s`` seconds (default: ``num`` windows end to end) is
    outpainted like `long_piece`, window k of K starting from ``slerp(..., k / (K - 1))``.

    Returns:
        ``(clips, audio, piece)``: list of ``num`` float32 audio arrays of ``samples_for(W)``
        samples each, the continuous float32 audio (exactly ``round(duration_s * sr)`` samples)
        and its spectrogram.
    Raises:
        ParameterError: for ``num`` < 2, a bad duration, or a piano-roll model.
    """
    if int(num) < 2:
        raise ParameterError(f"--num must be >= 2 for an interpolation. Received: num={num}")
    transform = sound_generator.transform
    refuse_midi(transform, "interpolate")
    width = int(model.data_shape[1])
    if duration_s is None:
        duration_s = num * transform.samples_for(width) / transform.sample_rate
    duration_s = check_duration(duration_s, max_duration_s)
    noise_a, noise_b = seed_noise(model, seed_a), seed_noise(model, seed_b)
    ts = [i / (num - 1) for i in range(num)]
    noises = np.stack([slerp(noise_a, noise_b, t) for t in ts])
    empty = np.zeros((num,) + tuple(model.data_shape), np.float32)
    values = model.inpaint(empty, 0.0, diffusion_steps=steps, seeds=[int(seed_a)] * num, initial_noise=noises)[..., 0]
    clips = [invert(sound_generator, v, transform.samples_for(width), seed_a) for v in values]
    n_samples = int(round(duration_s * transform.sample_rate))
    frames = transform.frames_covering(n_samples)
    piece = np.zeros((int(model.data_shape[0]), frames), np.float32)

    def initial_noise(k, count):
        return slerp(noise_a, noise_b, k / max(1, count - 1))

    piece, _ = fill(model, piece, np.zeros(frames, bool), steps, seed_a, overlap, initial_noise=initial_noise,
                    progress=progress)
    return clips, invert(sound_generator, piece, n_samples, seed_a), piece


MIN_INVERSION_STEPS = 50  # DDIM inversion and resampling of real clips take at least this many steps


def clip_interpolation(model, sound_generator, path_a, path_b, num, steps, seed=0):
    """Clips between two real clips: DDIM-invert the first window of each file, slerp, sample.

    Each file's first model window (its stored-scale spectrogram) is inverted to noise
    with `DiffusionModel.invert_to_noise`; clip ``i`` of ``num`` is the deterministic DDIM
    sample of ``slerp(noise_a, noise_b, i / (num - 1))``, so the first and last clips
    approximate the two real clips. Both take ``max(steps, MIN_INVERSION_STEPS)`` steps (the default
    model's round trip error: 107 % of the variance at 20, 8 % at 50). The continuous file is
    the clips' spectrograms joined end to end and inverted once.

    Returns:
        ``(clips, audio, piece)``: ``num`` float32 audio arrays of ``samples_for(W)`` samples,
        the continuous audio (``num`` times that), and its spectrogram ``(n_bins, num * W)``.
    Raises:
        ParameterError: for ``num`` < 2, a piano-roll model, or a missing, unreadable or too short input (named).
    """
    if int(num) < 2:
        raise ParameterError(f"--num must be >= 2 for an interpolation. Received: num={num}")
    width, steps = int(model.data_shape[1]), max(int(steps), MIN_INVERSION_STEPS)
    windows = [load_input(sound_generator, path, width)[1][:, :width] for path in (path_a, path_b)]
    noise_a, noise_b = model.invert_to_noise(np.stack(windows)[..., None], steps)
    noises = np.stack([slerp(noise_a, noise_b, i / (num - 1)) for i in range(num)])
    empty = np.zeros((num,) + tuple(model.data_shape), np.float32)
    values = model.inpaint(empty, 0.0, diffusion_steps=steps, seeds=[int(seed)] * num, initial_noise=noises)[..., 0]
    samples = sound_generator.transform.samples_for(width)
    clips = [invert(sound_generator, v, samples, seed) for v in values]
    piece = np.concatenate(list(values), axis=1)
    return clips, invert(sound_generator, piece, num * samples, seed), piece


def piece_joins(plan, hop):
    """Sample positions where windows' new frames join known ones: ``first * hop`` for each `window_plan` entry but frame 0."""
    return [first * hop for _, first in plan if first > 0]
