"""Writing generated audio as WAV files."""

import numpy as np
import soundfile as sf

from common.atomic import atomic_path


def write_wav(path, audio, sample_rate):
    """Write mono float audio as a 16-bit PCM WAV file, atomically.

    Args:
        path: str or Path of the file (its folder is created).
        audio: float array ``(n_samples,)``, nominally in [-1, 1]; values outside are clipped.
        sample_rate: int > 0, in Hz.
    """
    with atomic_path(path) as tmp:
        sf.write(tmp, np.clip(audio, -1.0, 1.0), sample_rate, subtype="PCM_16", format="WAV")
