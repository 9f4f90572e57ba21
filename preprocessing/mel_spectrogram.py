"""The mel spectrogram transform: audio to (log-)mel spectrogram and back (NNLS or pseudo-inverse, then Griffin-Lim).

Notation (shapes for the defaults n_fft=1024, hop_length=256, n_mels=128):
    signal          x, float32 `(n_samples,)`, amplitude in [-1, 1].
    STFT            X[f, t], f = 0 .. n_fft/2, t < len(x) // hop_length: the STFT of
                    `preprocessing.log_spectrogram` (librosa.stft, center=True,
                    "constant" padding, last centred frame dropped).
    mel filterbank  M[m, f] = `librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk, norm)`,
                    `(n_mels, n_fft/2 + 1)`, triangles on the mel scale: Slaney's
                    (linear below 1 kHz, logarithmic above; Slaney, "Auditory Toolbox",
                    Interval Research TR 1998-010) or HTK's (mel = 2595 log10(1 + f/700);
                    Young et al., "The HTK Book"), optionally area-normalised
                    (norm="slaney": each triangle divided by its width in Hz).
    mel spectrogram P[m, t] = sum_f M[m, f] |X[f, t]|**power  (power 2: energy, 1: magnitude).
    log-mel         P_db[m, t] = (20 / power) log10(max(P[m, t], amin**power)), in dB:
                    10 log10 for a power (power=2) mel spectrogram, 20 log10 for a
                    magnitude (power=1) one, so that a component of amplitude a reads
                    about 20 log10(a) either way and the floor is 20 log10(amin)
                    whatever the power (librosa's ``power_to_db(P, amin=amin**2)`` for
                    power 2, ``amplitude_to_db(P, amin=amin)`` for power 1).
"""

import functools

import librosa
import numpy as np
import scipy.sparse

from common.errors import ParameterError
from common.validation import finite_number, flag, positive_int
from preprocessing.griffin_lim import check_coarse_to_fine_grid
from preprocessing.log_spectrogram import LogSpectrogramExtractor
from preprocessing.transform import GRIFFIN_LIM_ITERATIONS, GriffinLimInverse, Transform

MEL_INVERSES = ("nnls", "pinv")
GRIFFIN_LIM_GRIDS = ("full", "coarse_to_fine")
MEL_NORMS = ("slaney", None)
# default projected-gradient steps of the "nnls" inverse (about 1.5 ms each for 128 bands
# at n_fft 1024 and 10 s of audio; the band fit error is then below 0.1 %)
NNLS_ITERATIONS = 200
# magnitude floor of the STFT-magnitude inverse this transform delegates to; far
# below anything audible, so the floor there changes nothing here
_STFT_FLOOR = 1e-30


def _nonnegative_least_squares(solver, target, start, n_iterations):
    """``argmin_{S >= 0} ||M S - P||_F`` by accelerated projected gradient (FISTA), from ``start``.

    ``n_iterations`` steps of size ``1 / ||M||_2^2`` (Beck and Teboulle, "A fast
    iterative shrinkage-thresholding algorithm for linear inverse problems",
    SIAM J. Imaging Sci. 2(1), 2009; the projection onto S >= 0 is its proximal
    step). Started from the clipped minimum-norm solution, it keeps the
    spread-out shape of that solution while fitting the bands (an exact active-set
    NNLS from zero fits them as well but concentrates each band's energy in a few
    bins: a worse STFT estimate, measured).

    Args:
        solver: `MelSpectrogramExtractor._solver`'s dict (M as sparse ``basis``
            `(n_mels, n_bins)` and ``basis_t``, and ``lipschitz`` = ||M||_2^2).
        target: float64 `(n_mels, n_frames)`, ``P`` >= 0.
        start: float64 `(n_bins, n_frames)`, >= 0.
        n_iterations: int > 0, steps.
    Returns:
        float64 `(n_bins, n_frames)`, >= 0.
    """
    basis, basis_t, step = solver["basis"], solver["basis_t"], 1.0 / solver["lipschitz"]
    current, momentum_point, t = start.copy(), start.copy(), 1.0
    # in place, the same operations in the same order as
    #   following = max(y - step * M^T (M y - P), 0);  y = following + (t - 1) / t' * (following - current)
    # (a fresh array per step costs as much as the arithmetic for Riffusion's 4000 x 2900 values)
    for _ in range(n_iterations):
        following = basis_t @ (basis @ momentum_point - target)
        following *= step
        np.subtract(momentum_point, following, out=following)
        np.maximum(following, 0.0, out=following)
        t_following = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2.0
        np.subtract(following, current, out=momentum_point)
        momentum_point *= (t - 1.0) / t_following
        momentum_point += following
        current, t = following, t_following
    return current


@functools.lru_cache(maxsize=8)
def _mel_basis(sample_rate, n_fft, n_mels, fmin, fmax, htk, norm):
    """`librosa.filters.mel` as a read-only float32 array, built once per parameter set (0.7 s for Riffusion's)."""
    basis = librosa.filters.mel(
        sr=sample_rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=htk, norm=norm, dtype=np.float32
    )
    basis.flags.writeable = False
    return basis


class MelSpectrogramExtractor(GriffinLimInverse, Transform):
    """Mel spectrogram (in dB, or linear) with its inverse; the one object owning both directions.

    A `preprocessing.transform.Transform` (audio in; the Griffin-Lim inverse options
    ``n_iter``, ``random_state``, ``momentum``, ``init``). It uses the STFT and
    Griffin-Lim of `LogSpectrogramExtractor`, so the two transforms frame audio identically.

    Args:
        sample_rate: int > 0, in Hz, of the audio this transform is used with; the
            mel filterbank depends on it, and `extract` checks it when given one.
        n_fft: int > 0, even, in samples: FFT size (frequency resolution
            ``sample_rate / n_fft`` Hz before the filterbank).
        win_length: int, 0 < win_length <= n_fft, in samples: the frame (window)
            size; None means ``n_fft``.
        hop_length: int, 0 < hop_length <= win_length, in samples between frames.
        n_mels: int > 0, mel bands (the output's rows, row 0 the lowest band).
            Too many bands for ``n_fft`` leaves some low bands empty (librosa warns).
        fmin: float >= 0, in Hz: lower edge of the lowest band.
        fmax: float, fmin < fmax <= sample_rate / 2, in Hz: upper edge of the
            highest band; None means ``sample_rate / 2``.
        power: float > 0, exponent of the STFT magnitude before the filterbank:
            2.0 (energy, the default) or 1.0 (magnitude, Riffusion's choice).
        htk: bool, the HTK mel scale if True, else Slaney's (librosa's ``htk``).
        norm: "slaney" (each triangle divided by its width in Hz, so bands hold
            energy per Hz; librosa's default) or None (triangles of peak 1).
        log: bool; True: `extract` returns dB (see the module docstring), False:
            the linear mel spectrogram ``P`` (non-negative, in STFT magnitude**power
            units), e.g. for images in the Riffusion convention.
        amin: float > 0, amplitude floor of the log: values are floored at
            ``amin**power`` before it, so the dB floor is ``20*log10(amin)``
            (-100 dB for the default 1e-5). Unused when ``log`` is False.
        top_db: float > 0 or None; with ``log``, each spectrogram is also floored at
            its own maximum minus ``top_db`` dB (librosa's ``top_db``; None: no floor).
        inverse: how `invert` maps mel bands back to STFT bins (see `stft_magnitude`):
            "nnls" (non-negative least squares; the better estimate, about 0.3 s more
            per 10 s of audio at the defaults) or "pinv" (the filterbank's
            Moore-Penrose pseudo-inverse, clipped at 0; one matrix product).
        window: a `scipy.signal.get_window` name (str), default "hann".
        nnls_iterations: int > 0, projected-gradient steps of the "nnls" inverse
            (default `NNLS_ITERATIONS`; Riffusion's preset: 20, as good after
            Griffin-Lim, measured).
        griffin_lim: "full" (`librosa.griffinlim` on the STFT's own grid) or
            "coarse_to_fine" (`preprocessing.griffin_lim.coarse_to_fine_griffin_lim`,
            for a window zero-padded to n_fft: win_length even and dividing n_fft;
            Riffusion's preset, about 5 x faster at equal quality, measured).

    Magnitudes are unnormalised STFT sums, as in `LogSpectrogramExtractor`: a
    full-scale sine under a Hann window of length N has |X| of about N/4 at its
    bin; the filterbank then weights (norm=None: by at most 1; norm="slaney": by
    2 / band width in Hz) and sums neighbouring bins.

    Raises:
        ParameterError: if an argument is out of range.
    """

    def __init__(
        self,
        sample_rate,
        n_fft=1024,
        win_length=None,
        hop_length=256,
        n_mels=128,
        fmin=0.0,
        fmax=None,
        power=2.0,
        htk=False,
        norm="slaney",
        log=True,
        amin=1e-5,
        top_db=None,
        inverse="nnls",
        window="hann",
        nnls_iterations=NNLS_ITERATIONS,
        griffin_lim="full",
    ):
        # the STFT (forward and Griffin-Lim) is LogSpectrogramExtractor's, which
        # validates sample_rate, n_fft, win_length, hop_length and window
        self._stft = LogSpectrogramExtractor(
            sample_rate, n_fft=n_fft, win_length=win_length, hop_length=hop_length, amin=_STFT_FLOOR, window=window
        )
        self.sample_rate = self._stft.sample_rate
        self.n_fft = self._stft.n_fft
        self.win_length = self._stft.win_length
        self.hop_length = self._stft.hop_length
        self.window = self._stft.window
        self.n_mels = positive_int("n_mels", n_mels)
        nyquist = self.sample_rate / 2
        self.fmin = finite_number("fmin", fmin, 0.0, low_open=False)
        self.fmax = nyquist if fmax is None else finite_number("fmax", fmax, self.fmin)
        if self.fmin >= nyquist:
            raise ParameterError(f"fmin must be below the Nyquist frequency ({nyquist:g} Hz). Received: fmin={fmin!r}")
        if self.fmax > nyquist:
            raise ParameterError(
                f"fmax must be <= the Nyquist frequency sample_rate / 2 ({nyquist:g} Hz). Received: fmax={fmax!r}"
            )
        self.power = finite_number("power", power, 0.0)
        self.htk = flag("htk", htk)
        if norm not in MEL_NORMS:
            raise ParameterError(f"norm must be 'slaney' or None. Received: norm={norm!r}")
        self.norm = norm
        self.log = flag("log", log)
        self.amin = finite_number("amin", amin, 0.0)
        self.top_db = None if top_db is None else finite_number("top_db", top_db, 0.0)
        if inverse not in MEL_INVERSES:
            raise ParameterError(f"inverse must be one of {', '.join(MEL_INVERSES)}. Received: inverse={inverse!r}")
        self.inverse = inverse
        self.nnls_iterations = positive_int("nnls_iterations", nnls_iterations)
        if griffin_lim not in GRIFFIN_LIM_GRIDS:
            raise ParameterError(
                f"griffin_lim must be one of {', '.join(GRIFFIN_LIM_GRIDS)}. Received: griffin_lim={griffin_lim!r}"
            )
        if griffin_lim == "coarse_to_fine":
            check_coarse_to_fine_grid(self.n_fft, self.win_length)
        self.griffin_lim = griffin_lim
        self._solver_cache = None  # see _solver

    # === Shapes ===

    @property
    def n_freq_bins(self) -> int:
        """Number of rows of a spectrogram, ``n_mels``."""
        return self.n_mels

    @property
    def min_db(self) -> float:
        """The dB floor ``20*log10(amin)`` of `extract` when ``log`` is True (the linear floor is 0)."""
        return float(20.0 * np.log10(self.amin))

    def frames_for(self, n_samples) -> int:
        """Number of frames `extract` returns for ``n_samples`` samples: ``n_samples // hop_length``."""
        return self._stft.frames_for(n_samples)

    @property
    def mel_basis(self) -> np.ndarray:
        """The filterbank ``M``, float32 `(n_mels, n_fft // 2 + 1)` (read-only; shared by equal transforms)."""
        return _mel_basis(self.sample_rate, self.n_fft, self.n_mels, self.fmin, self.fmax, self.htk, self.norm)

    # === Forward ===

    def extract(self, signal, sample_rate=None) -> np.ndarray:
        """Mel spectrogram of ``signal``.

        Args:
            signal: float array, shape `(n_samples,)`, n_samples >= hop_length,
                amplitude nominally in [-1, 1], at ``sample_rate`` Hz.
            sample_rate: int or None, in Hz, the rate of ``signal`` if the caller
                knows it; it must equal ``self.sample_rate`` (None: not checked).
        Returns:
            float32 array, shape `(n_mels, n_samples // hop_length)`, row 0 the
            lowest band: in dB, values >= 20*log10(amin) (top_db: >= the max -
            top_db), if ``log``; else linear, >= 0, in STFT magnitude**power units
            (see the class docstring for the scale).
        Raises:
            ParameterError: if ``sample_rate`` differs from the transform's, or
                ``signal`` is not 1-D, is shorter than one hop, or holds
                non-finite values.
        """
        signal = np.asarray(signal)
        if signal.ndim != 1:
            raise ParameterError(f"signal must be 1-D (n_samples,). Received: signal.shape={signal.shape}")
        return self.extract_batch(signal[None, :], sample_rate=sample_rate)[0]

    def extract_batch(self, signals, sample_rate=None) -> np.ndarray:
        """`extract` of several signals of equal length at once (one STFT call; the same values).

        Args:
            signals: float array, shape `(n_signals, n_samples)`, n_signals >= 1,
                n_samples >= hop_length, amplitude nominally in [-1, 1].
            sample_rate: int or None, as in `extract`.
        Returns:
            float32 array, shape `(n_signals, n_mels, n_samples // hop_length)`;
            item ``i`` equals ``extract(signals[i])``.
        Raises:
            ParameterError: as `extract`, and if ``signals`` is not 2-D or holds no signal.
        """
        if sample_rate is not None and sample_rate != self.sample_rate:
            raise ParameterError(
                f"The audio's sample rate differs from the transform's ({self.sample_rate} Hz); resample it first. "
                f"Received: sample_rate={sample_rate!r}"
            )
        # |X| without the Nyquist row, whose filter weight is 0 (fmax <= sample_rate / 2),
        # recovered exactly enough (float32 rounding) from the STFT transform's dB
        magnitudes = self._stft.extract_batch(signals)  # validates; (n_signals, n_fft // 2, n_frames), dB
        magnitudes *= np.float32(self.power / 20.0)  # 10**(dB * power / 20) = |X|**power
        np.power(np.float32(10.0), magnitudes, out=magnitudes)
        mel = np.matmul(self.mel_basis[:, : self._stft.n_freq_bins], magnitudes)  # (n_signals, n_mels, n_frames)
        if not self.log:
            return mel.astype(np.float32, copy=False)
        np.maximum(mel, np.float32(self.amin**self.power), out=mel)
        np.log10(mel, out=mel)
        mel *= np.float32(20.0 / self.power)
        if self.top_db is not None:
            np.maximum(mel, mel.max(axis=(1, 2), keepdims=True) - np.float32(self.top_db), out=mel)
        return mel.astype(np.float32, copy=False)

    # === Inverse ===

    def stft_magnitude(self, mel) -> np.ndarray:
        """The STFT magnitude ``|X|`` whose mel spectrogram approximates ``mel`` (no phase yet).

        Undoes the log (``P = 10**(P_db * power / 20)``; with ``log`` False a
        negative value, which no spectrogram holds but a generator may output, is
        taken as 0), then estimates ``S = |X|**power`` from ``M S = P``, ``S >= 0``
        (underdetermined: ``M`` has fewer rows than columns), and returns
        ``S**(1/power)``. "pinv": the minimum-norm solution ``pinv(M) P`` clipped at
        0. "nnls": from there, ``nnls_iterations`` accelerated projected-gradient
        steps on ``min ||M S - P||_F, S >= 0``, which fit the bands (the clipped
        pseudo-inverse misses them by several percent).

        Not `librosa.feature.inverse.mel_to_stft`: its L-BFGS-B objective is divided
        by the number of values, so at audio magnitudes its gradient is below the
        stopping tolerance and it returns its start, the clipped pseudo-inverse,
        after seconds (measured, librosa 0.11); it also keeps an L-BFGS memory of
        ``n_fft // 2 + 1`` vectors, about 80 GiB for Riffusion's n_fft.

        Args:
            mel: float array, shape `(n_mels, n_frames)`, n_frames >= 1, as returned
                by `extract` (denormalised first if it was normalised).
        Returns:
            float64 array, shape `(n_fft // 2 + 1, n_frames)`, >= 0, in STFT
            magnitude units (bins above ``fmax`` or below ``fmin`` are 0).
        Raises:
            ParameterError: if ``mel`` is not 2-D with ``n_mels`` rows and at least
                one frame, or holds non-finite values.
        References:
            Penrose, "A generalized inverse for matrices", Proc. Cambridge Philos.
            Soc. 51, 1955 (pseudo-inverse); Beck and Teboulle, "A fast iterative
            shrinkage-thresholding algorithm for linear inverse problems", SIAM J.
            Imaging Sci. 2(1), 2009 (the accelerated projected gradient).
        """
        mel = np.asarray(mel)
        if mel.ndim != 2 or mel.shape[0] != self.n_mels or mel.shape[1] == 0:
            raise ParameterError(
                f"mel must be 2-D (n_mels = {self.n_mels}, n_frames >= 1). Received: mel.shape={mel.shape}"
            )
        if not np.issubdtype(mel.dtype, np.number) or np.iscomplexobj(mel):
            raise ParameterError(f"mel must be a real numeric array. Received: mel.dtype={mel.dtype}")
        if not np.all(np.isfinite(mel)):
            raise ParameterError("mel holds non-finite values (NaN or inf). Received: mel=<non-finite>")
        mel = mel.astype(np.float64)
        linear = np.power(10.0, mel * (self.power / 20.0)) if self.log else np.maximum(mel, 0.0)
        solver = self._solver()
        # pinv(M) P = M^T (pinv(M M^T) P): a sparse product on the bins some band
        # covers (M^T is 0 on the others, which stay 0)
        covered = np.maximum(solver["basis_t"] @ (solver["gram_pinv"] @ linear), 0.0)  # (n_support, n_frames)
        if self.inverse == "nnls":
            covered = _nonnegative_least_squares(solver, linear, covered, self.nnls_iterations)
        estimate = np.zeros((self.n_fft // 2 + 1, linear.shape[1]))
        estimate[solver["support"]] = np.power(covered, 1.0 / self.power, out=covered)
        return estimate

    def _solver(self):
        """What `stft_magnitude` needs of the filterbank, computed on first use and kept."""
        if self._solver_cache is None:
            basis = self.mel_basis
            support = np.flatnonzero(np.any(basis > 0, axis=0))  # bins in some band
            sparse = scipy.sparse.csr_matrix(basis[:, support].astype(np.float64))  # a bin is in at most two bands
            gram = (sparse @ sparse.T).toarray()  # M M^T, (n_mels, n_mels)
            self._solver_cache = {
                "support": support,
                # pinv(M) = M^T pinv(M M^T): an n_mels x n_mels problem instead of an SVD
                # of M (seconds for Riffusion's 512 x 8821 filterbank); the same matrix
                "gram_pinv": np.linalg.pinv(gram, hermitian=True),
                "basis": sparse,
                "basis_t": sparse.T.tocsr(),
                # Lipschitz constant of the gradient of ||M S - P||^2 / 2: ||M||_2^2
                "lipschitz": max(float(np.linalg.eigvalsh(gram)[-1]), np.finfo(np.float64).tiny),
            }
        return self._solver_cache

    def _invert(self, mel, length=None, n_iter=GRIFFIN_LIM_ITERATIONS, random_state=None, momentum=0.99, init="random"):
        """`invert`: audio whose mel spectrogram approximates ``mel``: `stft_magnitude`, then fast Griffin-Lim.

        The phase is estimated by the STFT transform's inverse
        (`LogSpectrogramExtractor.invert_magnitudes`: with ``griffin_lim`` "full",
        librosa.griffinlim; "coarse_to_fine", `coarse_to_fine_griffin_lim`; the
        same last-frame handling either way, so that output lengths are exact).

        Args:
            mel: float array, shape `(n_mels, n_frames)`, as returned by `extract`.
            length: int > 0 or None, samples in the output; None gives
                ``samples_for(n_frames) = n_frames * hop_length`` (the length `extract`
                was given, up to one hop).
            n_iter: int > 0, Griffin-Lim iterations (default `GRIFFIN_LIM_ITERATIONS`, 32;
                "coarse_to_fine": 2 n_iter coarse and max(1, n_iter // 6) fine ones).
            random_state: int, `np.random.Generator` or None, seeds the random phase.
            momentum: float >= 0, the fast Griffin-Lim momentum (0: classic Griffin-Lim).
            init: "random" or None (zero phase), the initial phase estimate.
        Returns:
            float32 array, shape `(length,)`, at ``sample_rate`` Hz.
        Raises:
            ParameterError: if ``mel`` has the wrong shape or non-finite values, or an
                argument is out of range.
        References:
            Perraudin, Balazs, Sondergaard, "A fast Griffin-Lim algorithm",
            IEEE WASPAA 2013; Griffin and Lim, "Signal estimation from modified
            short-time Fourier transform", IEEE TASSP 1984.
        """
        magnitudes = self.stft_magnitude(mel)[: self._stft.n_freq_bins]  # the Nyquist row is 0 (see extract)
        return self._stft.invert_magnitudes(
            magnitudes, n_iter=n_iter, momentum=momentum, length=length, init=init, random_state=random_state,
            coarse_to_fine=self.griffin_lim == "coarse_to_fine",
        )

    # === Display ===

    @property
    def display_unit(self) -> str:
        """The colour bar's label: "dB" when ``log``, else the linear mel spectrogram's unit."""
        return "dB" if self.log else f"|STFT|^{self.power:g}"

    def display(self, values):
        """``(values, specshow kwargs)``: the values as they are, on the transform's mel axis (Hz)."""
        return values, {
            "sr": self.sample_rate, "hop_length": self.hop_length, "x_axis": "time", "y_axis": "mel",
            "fmin": self.fmin, "fmax": self.fmax, "htk": self.htk,
        }

    # === Config ===

    def get_config(self) -> dict:
        """Every constructor argument under its own name (JSON-safe)."""
        config = self._stft.get_config()  # sample_rate, n_fft, win_length, hop_length, amin, window
        config.update(
            amin=self.amin, n_mels=self.n_mels, fmin=self.fmin, fmax=self.fmax, power=self.power, htk=self.htk,
            norm=self.norm, log=self.log, top_db=self.top_db, inverse=self.inverse,
            nnls_iterations=self.nnls_iterations, griffin_lim=self.griffin_lim,
        )
        return config

    # the same as LogSpectrogramExtractor's: ``cls(**config)``, ParameterError on unknown keys
