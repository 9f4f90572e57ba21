"""Decoding an audio file into a float32 signal at a fixed sample rate."""

import warnings
from pathlib import Path

import librosa
import numpy as np

from common.errors import ParameterError


class Loader:
    """Decode audio files (wav, aiff, flac, ogg, mp3: what soundfile reads) with `librosa.load`, resampled and mixed down.

    Args:
        sample_rate: int > 0, in Hz. Every file is resampled to this rate.
        mono: if True (default) channels are averaged to one.
        offset_s: float >= 0, in seconds: start reading this far into the file.
        duration_s: float > 0 or None, in seconds: read at most this much audio
            (None = to the end of the file).

    Raises:
        ParameterError: if an argument is out of range.
    """

    def __init__(self, sample_rate, mono=True, offset_s=0.0, duration_s=None):
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, np.integer)) or sample_rate <= 0:
            raise ParameterError(f"sample_rate must be a positive integer in Hz. Received: sample_rate={sample_rate!r}")
        if not np.isfinite(offset_s) or offset_s < 0:
            raise ParameterError(f"offset_s must be finite and >= 0 seconds. Received: offset_s={offset_s!r}")
        if duration_s is not None and (not np.isfinite(duration_s) or duration_s <= 0):
            raise ParameterError(f"duration_s must be None or > 0 seconds. Received: duration_s={duration_s!r}")
        self.sample_rate = int(sample_rate)
        self.mono = bool(mono)
        self.offset_s = float(offset_s)
        self.duration_s = None if duration_s is None else float(duration_s)

    def load(self, path) -> np.ndarray:
        """Decode ``path`` into a signal.

        Args:
            path: str or Path of an audio file librosa can decode.
        Returns:
            float32 array, shape `(n_samples,)` when ``mono`` (else
            `(n_channels, n_samples)`), amplitude nominally in [-1, 1], at
            ``sample_rate`` Hz.
        Raises:
            ParameterError: naming the file, if it is missing, cannot be decoded,
                holds no samples (after offset/duration), or holds non-finite samples.
        """
        path = Path(path)
        if not path.is_file():
            raise ParameterError(f"Audio file not found. Received: path={str(path)!r}")
        try:
            # librosa falls back to audioread (deprecated) when soundfile cannot
            # decode; its warnings are noise here, a failure is reported below.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                signal, _ = librosa.load(
                    path,
                    sr=self.sample_rate,
                    mono=self.mono,
                    offset=self.offset_s,
                    duration=self.duration_s,
                    dtype=np.float32,
                )
        except librosa.util.exceptions.ParameterError as err:
            # librosa validates its own output (e.g. "not finite everywhere").
            if "finite" in str(err):
                raise ParameterError(f"Audio file holds non-finite samples. Received: path={str(path)!r}") from err
            raise ParameterError(f"Audio file could not be decoded ({err}). Received: path={str(path)!r}") from err
        except Exception as err:  # decoders raise many unrelated types
            raise ParameterError(
                f"Audio file could not be decoded ({type(err).__name__}{': ' + str(err) if str(err) else ''}). "
                f"Received: path={str(path)!r}"
            ) from err
        if signal.size == 0 or signal.shape[-1] == 0:
            raise ParameterError(f"Audio file holds no samples. Received: path={str(path)!r}")
        if not np.all(np.isfinite(signal)):
            raise ParameterError(f"Audio file holds non-finite samples. Received: path={str(path)!r}")
        return np.ascontiguousarray(signal, dtype=np.float32)

    def get_config(self) -> dict:
        """The constructor arguments, JSON-safe."""
        return {
            "sample_rate": self.sample_rate,
            "mono": self.mono,
            "offset_s": self.offset_s,
            "duration_s": self.duration_s,
        }
