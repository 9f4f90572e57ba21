"""Griffin-Lim phase reconstruction: `griffin_lim` (librosa.griffinlim's algorithm on tf.signal), and a
coarse-to-fine variant for an STFT whose window is zero-padded (n_fft a multiple of win_length).

`griffin_lim` runs `librosa.griffinlim`'s iteration (same initial phase for the same seed, same
center=True framing and window normalisation) with TensorFlow's FFT and overlap-add, which use
both cores of a 2-core CPU: 10 s of 16 kHz audio, 16 iterations, 0.14 s against librosa's
0.34-0.47 s (docs/MEASUREMENTS.md, "A Griffin-Lim on tf.signal"); it is what the log-STFT
transform inverts with, for speed of sampling.

Notation:
    W               win_length (even), in samples; the Hann window's length.
    N               n_fft, a multiple of W (Riffusion: W = 4410, N = 17640 = 4 W).
    h               hop_length, in samples.
    X_N^h[f, t]     the STFT of `librosa.stft` (center=True, "constant" padding) with
                    the W-sample window centred in N samples, hop h; f = 0 .. N/2.

Zero-padding the window only samples the W-point DFT of each frame more finely:
``|X_N^h[(N/W) k, t]| = |X_W^h[k, t]|`` for k = 0 .. W/2 (the window's offset in the
frame, (N - W) / 2 samples, multiplies bin k by (-1)^k at most), and the frames at
hop 3h are every third frame at hop h. So the magnitudes on the grid (W, 3h) and
on (2W, h) are exact subsets of the given ones: 12 and 2 times fewer values for
Riffusion's N = 4W. `coarse_to_fine_griffin_lim` runs fast Griffin-Lim on the
coarse grid first (`librosa.griffinlim`; a Hann window of W at hop 3h still
overlaps 3.3 times), then a few warm-started iterations on the finer grid, whose
denser samples pin down more of the phase.

References:
    Griffin and Lim, "Signal estimation from modified short-time Fourier transform",
    IEEE TASSP 32(2), 1984; Perraudin, Balazs and Sondergaard, "A fast Griffin-Lim
    algorithm", IEEE WASPAA 2013 (the momentum, ``alpha``).
"""

import librosa
import numpy as np

from common.errors import ParameterError

# the coarse stage runs COARSE_ITERATIONS_PER_ITERATION * n_iter iterations on every
# COARSE_FRAME_STEP-th frame (each about 1/12 of a full-grid one for N = 4W), the fine
# stage max(1, n_iter // FINE_ITERATION_DIVISOR): 64 + 5 for n_iter 32, chosen on two
# chorales among frame steps 2-3, 48-80 coarse and 4-8 fine iterations
# (docs/REPRESENTATIONS.md, "Images", for the measurements)
COARSE_ITERATIONS_PER_ITERATION = 2
COARSE_FRAME_STEP = 3
FINE_ITERATION_DIVISOR = 6


def check_coarse_to_fine_grid(n_fft, win_length):
    """Raise ParameterError unless ``win_length`` is even and divides ``n_fft`` (the grids above are then exact)."""
    if win_length % 2 or n_fft % win_length:
        raise ParameterError(
            f"Coarse-to-fine Griffin-Lim needs an even win_length that divides n_fft ({n_fft}). "
            f"Received: win_length={win_length!r}"
        )


def warm_started_griffin_lim(magnitudes, signal, n_fft, hop_length, win_length, window="hann", n_iter=6,
                             momentum=0.99):
    """Fast Griffin-Lim started from the phase of ``signal``'s STFT rather than a random one.

    `librosa.griffinlim` takes no initial phase, so this is its loop (the same
    update, Perraudin et al. 2013) with the start given.

    Args:
        magnitudes: float32 array, shape `(n_fft // 2 + 1, n_frames)`, >= 0: the
            target ``|X_N^h|`` (center=True frames, so ``n_frames = length // h + 1``).
        signal: float array, shape `(length,)`, the starting estimate.
        n_fft, hop_length, win_length: ints > 0, in samples (see the module docstring).
        window: a `scipy.signal.get_window` name.
        n_iter: int >= 0, iterations.
        momentum: float >= 0, the fast Griffin-Lim ``alpha`` (0: classic Griffin-Lim).
    Returns:
        float32 array, shape `(length,)`.
    """
    stft_options = {"n_fft": n_fft, "hop_length": hop_length, "win_length": win_length, "window": window}
    length = len(signal)
    # t_0, the consistent spectrogram of the start, is also the momentum's first t_{n-1}
    previous = librosa.stft(np.asarray(signal, np.float32), **stft_options)  # (n_fft // 2 + 1, n_frames), complex64
    angles, rebuilt, inverse = previous.copy(), np.empty_like(previous), None
    for _ in range(n_iter):
        _project(angles, magnitudes)
        inverse = librosa.istft(angles, length=length, out=inverse, **stft_options)
        librosa.stft(inverse, out=rebuilt, **stft_options)  # t_n
        # c_{n+1} = t_n - alpha / (1 + alpha) t_{n-1} (librosa.griffinlim's form), in t_{n-1}'s buffer
        previous *= -momentum / (1.0 + momentum)
        previous += rebuilt
        angles, previous, rebuilt = previous, rebuilt, angles
    _project(angles, magnitudes)
    return librosa.istft(angles, length=length, **stft_options).astype(np.float32)


def _project(coefficients, magnitudes):
    """``c <- |X| c / |c|`` in place: the projection of complex64 ``coefficients`` onto the target magnitudes."""
    scale = np.abs(coefficients)
    scale += np.finfo(np.float32).tiny
    np.divide(magnitudes, scale, out=scale)
    coefficients *= scale


def coarse_to_fine_griffin_lim(magnitudes, n_fft, hop_length, win_length, length, window="hann", n_iter=32,
                               momentum=0.99, init="random", random_state=None):
    """Audio whose STFT magnitude approximates ``magnitudes``: Griffin-Lim on the grid (W, 3h), then on (2W, h).

    Stage 1: `librosa.griffinlim` for ``2 * n_iter`` iterations on ``magnitudes[::N/W,
    ::3]`` (n_fft W, hop 3h). Stage 2: `warm_started_griffin_lim` for ``max(1, n_iter //
    6)`` iterations from stage 1's audio on ``magnitudes[::N/(2W)]`` (n_fft 2W, hop h;
    N itself when 2W does not divide N). On Riffusion images this matches 32
    full-grid iterations in quality in a fifth of the time or less (docs/REPRESENTATIONS.md).

    Args:
        magnitudes: float32 array, shape `(n_fft // 2 + 1, length // hop_length + 1)`,
            >= 0, STFT magnitudes on the full grid (N, h), center=True frames.
        n_fft, hop_length, win_length: ints, in samples; win_length even and dividing n_fft.
        length: int > 0, samples of the output (a multiple of ``hop_length``).
        window: a `scipy.signal.get_window` name.
        n_iter: int > 0, sets both stages' iterations as above.
        momentum: float >= 0, the fast Griffin-Lim ``alpha``.
        init: "random" or None (zero phase): stage 1's initial phase.
        random_state: int, `np.random.Generator` or None, seeds stage 1's random phase.
    Returns:
        float32 array, shape `(length,)`.
    Raises:
        ParameterError: if win_length is odd or does not divide n_fft.
    """
    check_coarse_to_fine_grid(n_fft, win_length)
    coarse = magnitudes[:: n_fft // win_length, ::COARSE_FRAME_STEP]  # (W // 2 + 1, ceil(n_frames / 3))
    estimate = librosa.griffinlim(
        np.ascontiguousarray(coarse), n_iter=round(COARSE_ITERATIONS_PER_ITERATION * n_iter),
        hop_length=COARSE_FRAME_STEP * hop_length,
        win_length=win_length, n_fft=win_length, window=window, center=True, length=length, momentum=momentum,
        init=init, random_state=random_state,
    )
    fine_n_fft = 2 * win_length if n_fft % (2 * win_length) == 0 else n_fft
    fine = np.ascontiguousarray(magnitudes[:: n_fft // fine_n_fft])  # (fine_n_fft // 2 + 1, n_frames)
    return warm_started_griffin_lim(
        fine, estimate, fine_n_fft, hop_length, win_length, window, max(1, n_iter // FINE_ITERATION_DIVISOR), momentum
    )


def griffin_lim(magnitudes, n_fft, hop_length, win_length, length, window="hann", n_iter=32, momentum=0.99,
                init="random", random_state=None):
    """Fast Griffin-Lim (Perraudin et al. 2013) of ``librosa.griffinlim(center=True)``, computed with tf.signal.

    The same iteration as librosa's: ``c_0 = S e^{i phi_0}``; ``t_n = STFT(ISTFT(c_n))``;
    ``c_{n+1} = S (t_n - a/(1+a) t_{n-1}) / |...|`` (no momentum term at n = 0); the output is
    ``ISTFT(c_n_iter)``. The inverse STFT divides the overlap-added frames by the window's sum of
    squares (`librosa.filters.window_sumsquare`), as librosa's does, and the analysis pads with
    zeros (center=True, librosa's "constant"). ``phi_0`` is drawn as librosa draws it, so one seed
    gives librosa's start; the outputs then agree to float32 rounding (tests/preprocessing/test_griffin_lim.py).

    Args:
        magnitudes: float array, shape ``(..., n_fft // 2 + 1, n_frames)``, >= 0, linear STFT
            magnitudes (center=True frames: ``n_frames = length // hop_length + 1``); leading axes are a batch.
        n_fft, win_length, hop_length: ints > 0 in samples, win_length <= n_fft.
        length: int > 0, samples of each output signal.
        window: a `scipy.signal.get_window` name (or tuple).
        n_iter: int >= 0, iterations.
        momentum: float >= 0, the fast Griffin-Lim ``alpha`` (0: classic Griffin-Lim, Griffin and Lim 1984).
        init: "random" (uniform phase, seeded by ``random_state``) or None (zero phase).
        random_state: None, an int (``np.random.RandomState(seed)``, as librosa), or a numpy
            ``Generator``/``RandomState``.
    Returns:
        float32 array, shape ``(..., length)``.
    Raises:
        ParameterError: for ``init`` not "random" or None, or a row count that is not ``n_fft // 2 + 1``.
    """
    import tensorflow as tf

    magnitudes = np.asarray(magnitudes, np.float32)
    if magnitudes.shape[-2] != n_fft // 2 + 1:
        raise ParameterError(
            f"magnitudes must have n_fft // 2 + 1 = {n_fft // 2 + 1} rows. Received: shape={magnitudes.shape}"
        )
    if init == "random":
        if random_state is None:
            rng = np.random.default_rng()
        elif isinstance(random_state, (int, np.integer)):
            rng = np.random.RandomState(seed=int(random_state))
        else:
            rng = random_state
        phase = np.exp(2j * np.pi * rng.random(size=magnitudes.shape)).astype(np.complex64)
    elif init is None:
        phase = np.ones(magnitudes.shape, np.complex64)
    else:
        raise ParameterError(f"init must be 'random' or None. Received: init={init!r}")
    key = (n_fft, hop_length, win_length, window, int(n_iter), float(momentum))
    if key not in _GRIFFIN_LIM_GRAPHS:
        _GRIFFIN_LIM_GRAPHS[key] = _griffin_lim_graph(*key)
    pad = n_fft // 2
    n_frames = magnitudes.shape[-1]
    padded_length = n_fft + hop_length * (n_frames - 1)  # pad + signal + pad, the overlap-add buffer
    sum_squares = librosa.filters.window_sumsquare(window=window, n_frames=n_frames, win_length=win_length,
                                                   n_fft=n_fft, hop_length=hop_length, dtype=np.float32)
    tiny = np.finfo(np.float32).tiny
    keep = np.zeros(padded_length, np.float32)  # the signal's samples in the buffer
    keep[pad:pad + min(length, padded_length - pad)] = 1.0
    # 1 / sum of squares where it is not ~0 (librosa's approx_nonzero_indices), times the kept range
    normaliser = keep * np.where(sum_squares > tiny, 1.0 / np.maximum(sum_squares, tiny), 1.0)
    target = np.swapaxes(magnitudes, -1, -2)  # (..., frames, bins): tf.signal's layout
    signal = _GRIFFIN_LIM_GRAPHS[key](tf.constant(target), tf.constant(np.swapaxes(phase, -1, -2)),
                                      tf.constant(normaliser.astype(np.float32))).numpy()
    signal = signal[..., pad:pad + length]
    if signal.shape[-1] < length:
        signal = np.pad(signal, [(0, 0)] * (signal.ndim - 1) + [(0, length - signal.shape[-1])])
    return signal.astype(np.float32)


_GRIFFIN_LIM_GRAPHS = {}  # one traced `_griffin_lim_graph` per STFT grid and iteration count


def _griffin_lim_graph(n_fft, hop_length, win_length, window, n_iter, momentum):
    """The traced iteration of `griffin_lim` for one grid: ``(target (..., frames, bins) float32, phase (..., frames,
    bins) complex64, normaliser (n_fft + hop_length * (frames - 1),) float32) -> the padded signal`` (the
    overlap-added frames times ``normaliser``: 1 / the window's sum of squares inside the signal, 0 outside).
    The unrolled loop runs as one graph, 3x faster than eagerly; shapes are relaxed after the first
    (``reduce_retracing``), so other lengths do not trace again."""
    import tensorflow as tf

    window_values = librosa.util.pad_center(librosa.filters.get_window(window, win_length, fftbins=True), size=n_fft)
    window_tensor = tf.constant(window_values.astype(np.float32))
    ratio = momentum / (1.0 + momentum)
    tiny = np.finfo(np.float32).tiny

    @tf.function(autograph=False, reduce_retracing=True)
    def run(target, phase, normaliser):
        def inverse(coefficients):
            frames = tf.signal.irfft(coefficients, fft_length=[n_fft]) * window_tensor
            return tf.signal.overlap_and_add(frames, hop_length) * normaliser

        def analysis(signal):
            return tf.signal.rfft(tf.signal.frame(signal, n_fft, hop_length) * window_tensor, fft_length=[n_fft])

        magnitude = tf.complex(target, 0.0)
        coefficients = magnitude * phase
        previous = None
        for _ in range(n_iter):
            rebuilt = analysis(inverse(coefficients))
            update = rebuilt if previous is None else rebuilt - ratio * previous
            coefficients = magnitude * update / tf.complex(tf.abs(update) + tiny, 0.0)
            previous = rebuilt
        return inverse(coefficients)

    return run
