"""Small spectrogram PNGs of audio clips for the listening pages (`generate.listening_page`).

Every image is drawn from the audio itself, whatever the model's representation, so it shows
what the player plays: the magnitude of a short-time Fourier transform (Hann window of
`N_FFT` samples) in dB relative to full scale (a full-scale sine peaks at 0 dB), on one fixed
colour scale (`DB_RANGE`) for every image, so two clips compare by eye on one page and
across pages. Window joins and other instants are drawn as dashed vertical lines.
"""

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from common.atomic import atomic_write_bytes  # noqa: E402
from common.errors import ParameterError  # noqa: E402

N_FFT = 1024  # samples per frame (64 ms at 16 kHz)
MAX_COLUMNS = 1600  # frames drawn at most: a long piece's hop grows instead
DB_RANGE = (-90.0, 0.0)  # dB re full scale: the colour scale of every image
DPI = 80
CLIP_SIZE_IN = (3.4, 1.7)  # a clip's image: 272 x 136 px
INCHES_PER_SECOND = 0.35  # a long piece's image grows with its duration ...
MAX_WIDTH_IN = 14.0  # ... up to 1,120 px


def spectrogram_db(audio, sample_rate):
    """The clip's STFT magnitude in dB re full scale, for a picture.

    Args:
        audio: float array ``(n_samples,)``, mono, nominally in [-1, 1].
        sample_rate: Hz, > 0.
    Returns:
        ``(db, hop)``: float32 ``(N_FFT // 2 + 1, n_frames)``, clipped to `DB_RANGE`, and the
        hop in samples (``N_FFT // 4``, larger for a clip longer than `MAX_COLUMNS` frames).
    Raises:
        ParameterError: if ``audio`` is not 1-D, is empty or holds non-finite values,
            or ``sample_rate`` is not positive.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1 or audio.size == 0 or not np.all(np.isfinite(audio)):
        raise ParameterError(f"audio must be a non-empty finite 1-D array. Received: shape={audio.shape}")
    if sample_rate <= 0:
        raise ParameterError(f"sample_rate must be > 0. Received: sample_rate={sample_rate}")
    hop = max(N_FFT // 4, -(-audio.size // MAX_COLUMNS))
    padded = np.pad(audio, (N_FFT // 2, N_FFT // 2))
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::hop]  # (n_frames, N_FFT), a view
    window = np.hanning(N_FFT).astype(np.float32)
    magnitudes = np.abs(np.fft.rfft(frames * window, axis=1)).T  # (N_FFT // 2 + 1, n_frames)
    full_scale = window.sum() / 2  # the peak magnitude of a full-scale sine
    db = 20.0 * np.log10(np.maximum(magnitudes / full_scale, 1e-9))
    return np.clip(db, *DB_RANGE).astype(np.float32), hop


def write_spectrogram_png(path, audio, sample_rate, marks_s=(), title=""):
    """Draw ``audio``'s spectrogram (`spectrogram_db`) with dashed lines at ``marks_s`` and save a PNG.

    A clip of up to 4 s is 272 x 136 px; a longer piece grows by 28 px per second, up to
    1,120 px wide. Time (s) is across, frequency (kHz, 0 to the Nyquist frequency) up.

    Args:
        path: the PNG file to write (atomically; parent folders are made).
        audio: float array ``(n_samples,)``, mono.
        sample_rate: Hz, > 0.
        marks_s: instants in seconds to mark (window joins), each within the clip.
        title: drawn small above the image ("" for none).
    Returns:
        ``path`` as given.
    Raises:
        ParameterError: as `spectrogram_db`, or for a mark outside ``[0, duration]``.
    """
    db, _ = spectrogram_db(audio, sample_rate)
    duration_s = len(audio) / sample_rate
    for mark in marks_s:
        if not 0.0 <= mark <= duration_s:
            raise ParameterError(f"A mark is outside the clip (0 to {duration_s:.3f} s). Received: mark={mark}")
    width_in = CLIP_SIZE_IN[0] if duration_s <= 4.0 else min(MAX_WIDTH_IN, max(CLIP_SIZE_IN[0], INCHES_PER_SECOND * duration_s))
    height_in = CLIP_SIZE_IN[1] + (0.15 if title else 0.0)
    figure = plt.figure(figsize=(width_in, height_in))
    # fixed margins in inches (a layout engine costs more than the drawing)
    left, right, bottom, top = 0.42, 0.08, 0.32, 0.08 + (0.15 if title else 0.0)
    axis = figure.add_axes([left / width_in, bottom / height_in, 1 - (left + right) / width_in,
                            1 - (bottom + top) / height_in])
    axis.imshow(db, origin="lower", aspect="auto", cmap="magma", vmin=DB_RANGE[0], vmax=DB_RANGE[1],
                extent=(0.0, duration_s, 0.0, sample_rate / 2000.0), interpolation="nearest")
    for mark in marks_s:
        axis.axvline(mark, color="#00e5ff", linestyle="--", linewidth=1.0)
    axis.tick_params(labelsize=6, length=2, pad=1)
    axis.set_xlabel("s", fontsize=6, labelpad=0)
    axis.set_ylabel("kHz", fontsize=6, labelpad=0)
    if title:
        axis.set_title(title, fontsize=7, pad=2)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    plt.close(figure)
    atomic_write_bytes(path, buffer.getvalue(), durable=False)
    return path
