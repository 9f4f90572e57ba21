"""The log-magnitude STFT transform: audio to dB spectrogram and back (Griffin-Lim).

Notation (shapes for the defaults n_fft=1024, hop_length=256):
    signal          x, float32 `(n_samples,)`, amplitude in [-1, 1].
    STFT            X[f, t] = sum_n x[n + t*hop] w[n] exp(-2*pi*i*f*n/n_fft)
                    (librosa.stft, center=True, "constant" padding), f = 0 .. n_fft/2,
                    computed in float32 (the window w in float32, as the signal).
    log spectrogram S_db[f, t] = 20 log10(max(|X[f, t]|, amin)), f < n_fft/2
                    (the Nyquist bin f = n_fft/2 is dropped so the height, 512,
                    is a power of two), t < len(x) // hop_length.
"""

import librosa
import numpy as np

from common.errors import ParameterError
from common.validation import positive_int as _positive_int
from preprocessing.griffin_lim import coarse_to_fine_griffin_lim, griffin_lim
from preprocessing.transform import GRIFFIN_LIM_ITERATIONS, GriffinLimInverse, Transform


class LogSpectrogramExtractor(GriffinLimInverse, Transform):
    """Log-magnitude STFT in dB with its inverse; the one object owning both directions.

    A `preprocessing.transform.Transform` (audio in; the Griffin-Lim inverse options
    ``n_iter``, ``random_state``, ``momentum``, ``init``). Saved beside every dataset
    and model (`preprocessing.transform_io.save_transform`) so that the inverse
    always uses the forward's parameters.

    Args:
        sample_rate: int > 0, in Hz, of the audio this transform is used with
            (stored for the inverse's consumers; the STFT itself does not use it).
        n_fft: int > 0, even, in samples: FFT size. The output has ``n_fft // 2``
            frequency bins spaced ``sample_rate / n_fft`` Hz apart, bin 0 at 0 Hz.
        win_length: int, 0 < win_length <= n_fft, in samples: the frame (window)
            size; None means ``n_fft``.
        hop_length: int, 0 < hop_length <= win_length, in samples between frames.
        amin: float > 0, linear magnitude floor before the log, so the dB floor is
            ``20*log10(amin)`` (-80 dB for 1e-4).
        window: a `scipy.signal.get_window` name (str), default "hann".

    Magnitudes are unnormalised STFT sums: a full-scale sine under a Hann window of
    length N peaks at about N/4 (48.2 dB for N = 1024).

    Raises:
        ParameterError: if an argument is out of range.
    """

    display_unit = "dB"

    def __init__(self, sample_rate, n_fft=1024, win_length=None, hop_length=256, amin=1e-4, window="hann"):
        self.sample_rate = _positive_int("sample_rate", sample_rate)
        self.n_fft = _positive_int("n_fft", n_fft)
        if self.n_fft % 2:
            raise ParameterError(f"n_fft must be even. Received: n_fft={n_fft!r}")
        self.win_length = self.n_fft if win_length is None else _positive_int("win_length", win_length)
        if self.win_length > self.n_fft:
            raise ParameterError(
                f"win_length must be <= n_fft ({self.n_fft}). Received: win_length={win_length!r}"
            )
        self.hop_length = _positive_int("hop_length", hop_length)
        if self.hop_length > self.win_length:
            raise ParameterError(
                f"hop_length must be <= win_length ({self.win_length}). Received: hop_length={hop_length!r}"
            )
        if isinstance(amin, bool) or not isinstance(amin, (int, float)) or not np.isfinite(amin) or amin <= 0:
            raise ParameterError(f"amin must be a finite number > 0. Received: amin={amin!r}")
        self.amin = float(amin)
        if not isinstance(window, str):
            raise ParameterError(f"window must be a window name (str). Received: window={window!r}")
        self.window = window

    # === Shapes ===

    @property
    def n_freq_bins(self) -> int:
        """Number of frequency bins kept, ``n_fft // 2`` (Nyquist dropped)."""
        return self.n_fft // 2

    @property
    def min_db(self) -> float:
        """The dB floor, ``20*log10(amin)``."""
        return float(20.0 * np.log10(self.amin))

    def frames_for(self, n_samples) -> int:
        """Number of frames `extract` returns for ``n_samples`` samples: ``n_samples // hop_length``."""
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 0:
            raise ParameterError(f"n_samples must be an integer >= 0. Received: n_samples={n_samples!r}")
        return int(n_samples) // self.hop_length

    # === Forward ===

    def extract(self, signal) -> np.ndarray:
        """Log-magnitude STFT of ``signal``.

        Args:
            signal: float array, shape `(n_samples,)`, n_samples >= hop_length,
                amplitude nominally in [-1, 1], at ``sample_rate`` Hz.
        Returns:
            float32 array, shape `(n_fft // 2, n_samples // hop_length)`, in dB,
            values in [20*log10(amin), ~20*log10(win_length/2)]:
            ``20*log10(max(|STFT|, amin))``.
        Raises:
            ParameterError: if ``signal`` is not 1-D, is shorter than one hop, or
                holds non-finite values.
        """
        signal = np.asarray(signal)
        if signal.ndim != 1:
            raise ParameterError(f"signal must be 1-D (n_samples,). Received: signal.shape={signal.shape}")
        return self._extract(signal[None, :], "signal", signal)[0]

    def extract_batch(self, signals) -> np.ndarray:
        """`extract` of several signals of equal length (the same values, item by item).

        Args:
            signals: float array, shape `(n_signals, n_samples)`, n_signals >= 1,
                n_samples >= hop_length, amplitude nominally in [-1, 1].
        Returns:
            float32 array, shape `(n_signals, n_fft // 2, n_samples // hop_length)`,
            in dB; item ``i`` equals ``extract(signals[i])`` exactly, memory layout
            included (so a saved item is byte for byte a saved `extract`).
        Raises:
            ParameterError: if ``signals`` is not 2-D or holds no signal, if the
                signals are shorter than one hop, or hold non-finite values.
        """
        signals = np.asarray(signals)
        if signals.ndim != 2 or signals.shape[0] == 0:
            raise ParameterError(
                f"signals must be 2-D (n_signals >= 1, n_samples). Received: signals.shape={signals.shape}"
            )
        return self._extract(signals, "signals", signals)

    def _extract(self, signals, name, received):
        """`extract_batch` of a 2-D ``signals``; error messages name ``name`` and show ``received.shape``."""
        if not np.issubdtype(signals.dtype, np.number) or np.iscomplexobj(signals):
            raise ParameterError(f"{name} must be a real numeric array. Received: {name}.dtype={signals.dtype}")
        if not np.all(np.isfinite(signals)):
            raise ParameterError(f"{name} holds non-finite values (NaN or inf). Received: {name}=<non-finite>")
        n_frames = self.frames_for(signals.shape[1])
        if n_frames == 0:
            raise ParameterError(
                f"{name} is shorter than one hop ({self.hop_length} samples). Received: {name}.shape={received.shape}"
            )
        # One STFT per signal: librosa lays a batch out with the signal axis fastest, and
        # gathering each item's (frequency-fastest) values from it cost more than the STFT
        # itself (docs/BENCHMARKS.md); one signal's STFT is already in that order.
        signals = signals.astype(np.float32, copy=False)
        spectrogram_db = np.empty((signals.shape[0], n_frames, self.n_freq_bins), np.float32).transpose(0, 2, 1)
        # The window's samples, computed once (librosa would in every call), in float32: with
        # librosa's float64 window the whole STFT ran in float64 (1.7x the time) and was then
        # rounded to complex64 anyway. The values differ from float64's by < 1e-5 in |X|.
        window = librosa.filters.get_window(self.window, self.win_length, fftbins=True).astype(np.float32)
        for signal, item_db in zip(signals, spectrogram_db):
            stft = librosa.stft(
                signal, n_fft=self.n_fft, hop_length=self.hop_length, win_length=self.win_length,
                window=window, center=True,
            )  # (n_fft // 2 + 1, n_samples // hop + 1), complex64, Fortran order
            # center=True yields one frame more than whole hops; dropping the last
            # (and the Nyquist row) gives power-of-two-friendly shapes.
            np.abs(stft[: self.n_freq_bins, :n_frames], out=item_db)
        # in place, the same float32 operations as 20 * log10(max(|X|, amin))
        np.maximum(spectrogram_db, self.amin, out=spectrogram_db)
        np.log10(spectrogram_db, out=spectrogram_db)
        spectrogram_db *= 20.0
        return spectrogram_db

    # === Inverse ===

    def _invert(self, log_spectrogram_db, length=None, n_iter=GRIFFIN_LIM_ITERATIONS, random_state=None, momentum=0.99,
                init="random"):
        """`invert`: audio whose STFT magnitude approximates ``log_spectrogram_db`` (fast Griffin-Lim).

        The dB values are turned back into linear magnitudes (``10**(S_db/20)``;
        the ``amin`` floor stays at ``amin``), a zero Nyquist row is appended, and
        the phase is estimated with Griffin-Lim (`preprocessing.griffin_lim.griffin_lim`).

        Args:
            log_spectrogram_db: float array, shape `(n_fft // 2, n_frames)`, in dB
                as returned by `extract` (denormalised first if it was normalised).
            length: int > 0 or None, samples in the output; None gives
                ``samples_for(n_frames) = n_frames * hop_length`` (the length `extract`
                was given, up to one hop). The estimate is always ``n_frames *
                hop_length`` long, then trimmed or zero-padded to ``length``.
            n_iter: int > 0, Griffin-Lim iterations (default `GRIFFIN_LIM_ITERATIONS`, 32).
            random_state: int, `np.random.Generator` or None, seeds the random phase.
            momentum: float >= 0, the fast Griffin-Lim momentum (alpha in the paper;
                0 gives classic Griffin-Lim).
            init: "random" or None (zero phase), the initial phase estimate.
        Returns:
            float32 array, shape `(length,)`, at ``sample_rate`` Hz.
        Raises:
            ParameterError: if the input is not 2-D, has the wrong number of
                frequency bins, holds non-finite values, or an argument is out of range.
        References:
            Perraudin, Balazs, Sondergaard, "A fast Griffin-Lim algorithm",
            IEEE WASPAA 2013; Griffin and Lim, "Signal estimation from modified
            short-time Fourier transform", IEEE TASSP 1984.
        """
        spectrogram_db = np.asarray(log_spectrogram_db)
        if spectrogram_db.ndim != 2:
            raise ParameterError(
                f"log_spectrogram_db must be 2-D (n_freq_bins, n_frames). "
                f"Received: log_spectrogram_db.shape={spectrogram_db.shape}"
            )
        if spectrogram_db.shape[0] != self.n_freq_bins:
            raise ParameterError(
                f"log_spectrogram_db must have n_fft // 2 = {self.n_freq_bins} frequency bins. "
                f"Received: log_spectrogram_db.shape={spectrogram_db.shape}"
            )
        if spectrogram_db.shape[1] == 0:
            raise ParameterError(
                f"log_spectrogram_db has no frames. Received: log_spectrogram_db.shape={spectrogram_db.shape}"
            )
        if not np.all(np.isfinite(spectrogram_db)):
            raise ParameterError("log_spectrogram_db holds non-finite values. Received: log_spectrogram_db=<non-finite>")
        magnitudes = np.power(10.0, spectrogram_db.astype(np.float64) / 20.0)
        return self.invert_magnitudes(
            magnitudes, length=length, n_iter=n_iter, random_state=random_state, momentum=momentum, init=init
        )

    def invert_magnitudes(self, magnitudes, length=None, n_iter=GRIFFIN_LIM_ITERATIONS, random_state=None,
                          momentum=0.99, init="random", coarse_to_fine=False):
        """Audio whose STFT magnitude approximates ``magnitudes`` (linear, not dB): the Griffin-Lim of `invert`.

        Args:
            magnitudes: float array, shape `(n_fft // 2, n_frames)`, n_frames >= 1,
                finite and >= 0, linear STFT magnitudes (``10**(S_db / 20)``).
            length, n_iter, random_state, momentum, init: as in `_invert`.
            coarse_to_fine: bool; False runs `preprocessing.griffin_lim.griffin_lim` (librosa.griffinlim's
                iteration on tf.signal, the same output to float32 rounding) on the STFT's grid,
                True `preprocessing.griffin_lim.coarse_to_fine_griffin_lim` (win_length
                even and dividing n_fft; several times faster for a zero-padded window).
        Returns:
            float32 array, shape `(length,)`, at ``sample_rate`` Hz.
        Raises:
            ParameterError: if ``n_iter``, ``momentum`` or ``length`` is out of range,
                or the grid does not allow ``coarse_to_fine``.
        """
        n_iter = _positive_int("n_iter", n_iter)
        if not np.isfinite(momentum) or momentum < 0:
            raise ParameterError(f"momentum must be finite and >= 0. Received: momentum={momentum!r}")
        n_frames = magnitudes.shape[1]
        length = self.samples_for(n_frames) if length is None else _positive_int("length", length)
        # Undo extract's trimming so every Griffin-Lim re-analysis has the same
        # shape: the zero Nyquist row, and the last (center=True) frame, which is
        # approximated by repeating the final one. n_frames * hop_length samples
        # then analyse to exactly n_frames + 1 frames.
        full_grid = np.zeros((self.n_fft // 2 + 1, n_frames + 1), np.float32)
        full_grid[:-1, :-1] = magnitudes
        full_grid[:-1, -1] = magnitudes[:, -1]
        options = {"n_fft": self.n_fft, "hop_length": self.hop_length, "win_length": self.win_length,
                   "window": self.window, "length": n_frames * self.hop_length, "momentum": float(momentum),
                   "init": init, "random_state": random_state}
        if coarse_to_fine:
            audio = coarse_to_fine_griffin_lim(full_grid, n_iter=n_iter, **options)
        else:
            audio = griffin_lim(full_grid, n_iter=n_iter, **options)  # librosa.griffinlim's iteration, on tf.signal
        if length != audio.shape[0]:
            audio = audio[:length] if length < audio.shape[0] else np.pad(audio, (0, length - audio.shape[0]))
        return audio.astype(np.float32)

    # === Display ===

    def display(self, values):
        """``(values, specshow kwargs)``: the dB values as they are, on a logarithmic frequency axis (Hz)."""
        return values, {"sr": self.sample_rate, "hop_length": self.hop_length, "x_axis": "time", "y_axis": "log"}

    # === Config ===

    def get_config(self) -> dict:
        """Every constructor argument under its own name (JSON-safe)."""
        return {
            "sample_rate": self.sample_rate,
            "n_fft": self.n_fft,
            "win_length": self.win_length,
            "hop_length": self.hop_length,
            "amin": self.amin,
            "window": self.window,
        }
