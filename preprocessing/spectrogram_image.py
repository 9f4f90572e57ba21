"""Spectrograms as greyscale PNG images and back, and a CLI between audio and such images.

Usage:
    python -m preprocessing.spectrogram_image to-image IN.wav OUT.png [--preset riffusion|default] [--bit-depth 8|16]
    python -m preprocessing.spectrogram_image to-audio IN.png OUT.wav [--griffin-lim-iters N] [--seed S]
    python -m preprocessing.spectrogram_image to-audio riffusion.png OUT.wav --preset riffusion

An image holds one spectrogram ``(n_rows, n_frames)``: one pixel per value, row 0
(the lowest frequency) at the bottom of the image, frames from left to right,
8- or 16-bit greyscale. Everything needed to undo the scaling (and, from the
CLI, the transform's config and the audio's length) is stored in the PNG as one
tEXt chunk, keyword ``spectrogram``, holding JSON:

    {"format": "spectrogram-png", "version": 1, "shape": [n_rows, n_frames],
     "bit_depth": 8 | 16, "scaling": {...}, "transform": {"class": ..., "config": {...}},
     "n_samples": int}

(``transform`` and ``n_samples`` are optional). Scalings, ``full = 2**bit_depth - 1``,
``u`` in [0, 1] before rounding to a pixel value ``round(u * full)``:

- ``{"kind": "linear", "min_value": lo, "max_value": hi}``: ``u = (v - lo) / (hi - lo)``,
  values clipped to [lo, hi] first (lo, hi: the spectrogram's own min and max unless
  given); loud is light. Round-trip error at most ``(hi - lo) / (2 * full)``.
- ``{"kind": "power", "power": p, "max_value": m}``: ``u = 1 - (v / m)**p`` for ``v >= 0``
  clipped to [0, m] (m: the spectrogram's own max unless given); loud is dark. This
  is Riffusion's image convention (Forsgren and Martiros, "Riffusion - Stable
  diffusion for real-time music generation", 2022; ``riffusion/util/image_util.py``),
  whose p = 0.25 spreads a linear mel spectrogram's wide dynamic range over the
  grey levels. Riffusion writes 8-bit RGB images with m = the image's own max and
  truncates (here: greyscale, which its reader accepts, and rounding); its reader,
  lacking the max, assumes m = 30e6 for int16-scaled audio (about 915.5 for audio
  in [-1, 1]). Error: at most ``1 / (2 * full)`` in u; so a relative error of
  ``1 / (2 * full * p * (v / m)**p)`` (8-bit: 0.8 % at m, 8 % 80 dB below it),
  and values below ``m * (1 / (2 * full))**(1 / p)`` read as 0.

A PNG without this metadata, such as one Riffusion made, is read with
``to-audio --preset riffusion`` (`load_preset_png`): 8-bit greyscale or RGB (of RGB
the red channel, as Riffusion's reader takes for a mono image; of a stereo image,
whose red channel Riffusion leaves 0, the mean of the green (left) and blue (right)
channels' values, as the pipeline is mono), 512 rows, the
power scaling with p = 0.25 and m = `RIFFUSION_MAX_VALUE`, `riffusion_transform`,
and ``n_samples = width * 441``; one warning line on stderr says so. A PNG that
carries the metadata is read with it, and ``--preset`` is ignored with one
warning line.

Exit status of the CLI: 0 on success, 2 for bad input (missing or undecodable
file, a PNG without this module's metadata and no ``--preset``, a preset image of
the wrong height or mode, a bad argument), with one line that names the culprit;
nothing is written then.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from PIL import Image, PngImagePlugin, UnidentifiedImageError

from common.atomic import atomic_path
from common.cli import exit_status
from common.errors import ParameterError
from preprocessing.loader import Loader
from common.validation import finite_number
from preprocessing.mel_spectrogram import MelSpectrogramExtractor
from preprocessing.transform import GRIFFIN_LIM_ITERATIONS
from preprocessing.transform_io import transform_from_payload

METADATA_KEY = "spectrogram"
FORMAT_NAME = "spectrogram-png"
FORMAT_VERSION = 1
BIT_DEPTHS = (8, 16)
SCALINGS = ("linear", "power")
_DTYPES = {8: np.uint8, 16: np.uint16}
_MODES = {8: ("L",), 16: ("I;16", "I;16B", "I")}  # what Pillow may read a 16-bit greyscale PNG as

# Riffusion's image parameters (riffusion/spectrogram_params.py): 512 mel bands of
# 0-10 kHz at 44.1 kHz, 10 ms hop, 100 ms window, 400 ms FFT, STFT magnitude
# (power 1) through an HTK filterbank without normalisation; images scaled with
# power 0.25 (Riffusion: the image's max; see the module docstring).
RIFFUSION_IMAGE_SCALING = {"scaling": "power", "power": 0.25, "max_value": None}
# the max Riffusion's reader assumes (riffusion/util/image_util.py, spectrogram_from_image:
# max_value=30e6 for audio as int16), for audio in [-1, 1]: 30e6 / 32768, about 915.5
RIFFUSION_MAX_VALUE = 30e6 / 32768
RIFFUSION_MODES = ("L", "RGB")
DEFAULT_IMAGE_SCALING = {"scaling": "linear"}


def riffusion_transform():
    """The `MelSpectrogramExtractor` of Riffusion's images: a 5.12 s clip gives 512 x 512 values.

    44.1 kHz, hop 441 (10 ms), win_length 4410 (100 ms), n_fft 17640 (400 ms),
    512 HTK mel bands of 0-10 kHz, norm None, power 1 (magnitude), linear
    (``log=False``); images with `RIFFUSION_IMAGE_SCALING`. Inverted with 20
    NNLS steps and coarse-to-fine Griffin-Lim (`preprocessing.griffin_lim`):
    through 8-bit images of Bach chorales, 2.2-2.4 s per 5.12 s and 16.8 s for
    29 s, against 11.9-12.2 s and 96 s with the full-grid inverse used before
    (200 NNLS steps, Griffin-Lim at n_fft 17640), at the same spectral
    convergence of the mel values, 0.057-0.062 against 0.060-0.062 (2 busy CPU
    cores; `python -m benchmarks.reconstruction --riffusion`; "pinv" instead of
    NNLS was worse by about 0.01, measured before). Differences from Riffusion's
    torchaudio code: "constant" rather than "reflect" STFT padding (the first
    and last 50 ms), and the last centred frame dropped (513 -> 512 frames).
    """
    return MelSpectrogramExtractor(
        44100, n_fft=17640, win_length=4410, hop_length=441, n_mels=512, fmin=0.0, fmax=10000.0, power=1.0,
        htk=True, norm=None, log=False, inverse="nnls", nnls_iterations=20, griffin_lim="coarse_to_fine",
    )


def default_transform():
    """The project's default mel transform: 16 kHz, n_fft 1024, hop 256, 128 Slaney bands, in dB."""
    return MelSpectrogramExtractor(16000)


PRESETS = {
    "default": (default_transform, DEFAULT_IMAGE_SCALING),
    "riffusion": (riffusion_transform, RIFFUSION_IMAGE_SCALING),
}


# === Images ===


def _bound(name, value, lower=None):
    """None, or ``value`` as a float if finite (and > ``lower``); else ParameterError."""
    return None if value is None else finite_number(name, value, lower)


def _scale(values, scaling, power, min_value, max_value):
    """``(u, scaling dict)``: ``values`` mapped to [0, 1] as the module docstring says."""
    if scaling == "linear":
        lo = float(values.min()) if min_value is None else min_value
        hi = float(values.max()) if max_value is None else max_value
        if hi < lo:
            raise ParameterError(f"max_value must be >= min_value ({lo}). Received: max_value={hi!r}")
        u = (np.clip(values, lo, hi) - lo) / (hi - lo) if hi > lo else np.zeros_like(values)
        return u, {"kind": "linear", "min_value": lo, "max_value": hi}
    if power is None:
        raise ParameterError("power must be a finite number > 0 for the power scaling. Received: power=None")
    if min_value is not None:
        raise ParameterError(f"min_value is for the linear scaling (power: 0 is white). Received: min_value={min_value!r}")
    if values.min() < 0:
        raise ParameterError(
            f"The power scaling needs values >= 0 (a linear spectrogram). Received: min(values)={values.min()!r}"
        )
    top = float(values.max()) if max_value is None else max_value
    u = 1.0 - (np.minimum(values, top) / top) ** power if top > 0 else np.ones_like(values)
    return u, {"kind": "power", "power": power, "max_value": top}


def _unscale(u, scaling):
    """The inverse of `_scale` for the stored ``scaling`` dict."""
    if scaling["kind"] == "linear":
        return scaling["min_value"] + u * (scaling["max_value"] - scaling["min_value"])
    return scaling["max_value"] * (1.0 - u) ** (1.0 / scaling["power"])


def save_png(values, path, bit_depth=8, scaling="linear", power=0.25, min_value=None, max_value=None,
             transform=None, n_samples=None) -> Path:
    """Write a spectrogram as a greyscale PNG with the metadata to read it back, atomically.

    Args:
        values: float array, shape `(n_rows, n_frames)`, both >= 1, finite; row 0
            the lowest frequency (it becomes the bottom row of the image).
        path: destination file (str or Path); parent folders are created.
        bit_depth: 8 or 16, bits per pixel.
        scaling: "linear" (min-max, loud is light; any values, e.g. dB) or
            "power" (Riffusion's, loud is dark; values >= 0, e.g. a linear mel
            spectrogram); see the module docstring.
        power: float > 0, the exponent of the "power" scaling (unused by "linear").
        min_value: float or None, "linear" only: the value drawn black; lower
            values are clipped to it. None: ``values.min()``.
        max_value: float or None: "linear": the value drawn white, "power": the
            value drawn black (> 0); higher values are clipped to it. None:
            ``values.max()``.
        transform: None, or the transform that made ``values`` (an object with
            ``get_config()``), stored as ``{"class": name, "config": ...}``.
        n_samples: int > 0 or None, samples of the audio the spectrogram came
            from, stored so that an inverse can restore the exact length.
    Returns:
        The destination as a ``Path``.
    Raises:
        ParameterError: if ``values`` is not a non-empty finite 2-D real array, or
            an argument is out of range (the file is then not written).
    """
    values = np.asarray(values)
    if values.ndim != 2 or 0 in values.shape:
        raise ParameterError(f"values must be 2-D (n_rows, n_frames), non-empty. Received: values.shape={values.shape}")
    if not np.issubdtype(values.dtype, np.number) or np.iscomplexobj(values):
        raise ParameterError(f"values must be a real numeric array. Received: values.dtype={values.dtype}")
    if not np.all(np.isfinite(values)):
        raise ParameterError("values holds non-finite values (NaN or inf). Received: values=<non-finite>")
    if bit_depth not in BIT_DEPTHS or isinstance(bit_depth, bool):
        raise ParameterError(f"bit_depth must be 8 or 16. Received: bit_depth={bit_depth!r}")
    if scaling not in SCALINGS:
        raise ParameterError(f"scaling must be one of {', '.join(SCALINGS)}. Received: scaling={scaling!r}")
    if n_samples is not None and (isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer))
                                  or n_samples <= 0):
        raise ParameterError(f"n_samples must be None or a positive integer. Received: n_samples={n_samples!r}")
    u, stored_scaling = _scale(
        values.astype(np.float64), scaling, _bound("power", power, 0.0), _bound("min_value", min_value),
        _bound("max_value", max_value, 0.0 if scaling == "power" else None),
    )
    full = 2**bit_depth - 1
    pixels = np.rint(u * full).astype(_DTYPES[bit_depth])[::-1]  # top row = highest frequency
    metadata = {
        "format": FORMAT_NAME, "version": FORMAT_VERSION, "shape": list(values.shape), "bit_depth": bit_depth,
        "scaling": stored_scaling,
    }
    if transform is not None:
        metadata["transform"] = {"class": type(transform).__name__, "config": transform.get_config()}
    if n_samples is not None:
        metadata["n_samples"] = int(n_samples)
    info = PngImagePlugin.PngInfo()
    info.add_text(METADATA_KEY, json.dumps(metadata, sort_keys=True))
    with atomic_path(path) as tmp:
        Image.fromarray(np.ascontiguousarray(pixels)).save(tmp, format="PNG", pnginfo=info)
    return Path(path)


def _read_png(path):
    """``(pixels, text chunks, mode, format)`` of the image at ``path`` (a Path).

    Raises:
        ParameterError: naming the file, if it is missing or cannot be decoded.
    """
    if not path.is_file():
        raise ParameterError(f"Image file not found. Received: path={str(path)!r}")
    try:
        with Image.open(path) as image:
            image.load()
            return np.asarray(image), dict(getattr(image, "text", {})), image.mode, image.format
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise ParameterError(f"Image file could not be read ({err}). Received: path={str(path)!r}") from err


def has_metadata(path) -> bool:
    """True if ``path`` is a PNG carrying this module's text chunk (ParameterError if it cannot be read)."""
    _pixels, text, _mode, fmt = _read_png(Path(path))
    return fmt == "PNG" and METADATA_KEY in text


def load_preset_png(path, preset="riffusion"):
    """Read an image without this module's metadata (e.g. Riffusion's) by the preset's conventions.

    Riffusion's conventions (riffusion/util/image_util.py, spectrogram_from_image):
    loud is dark, ``v = m (1 - pixel / 255)**(1 / 0.25)`` with m = `RIFFUSION_MAX_VALUE`
    (its reader's 30e6 for int16 audio, rescaled to audio in [-1, 1]), row 0 of the
    values the bottom row of the image, 512 mel rows of `riffusion_transform`, hop
    441 samples, so ``width * 441`` samples of audio.

    Args:
        path: str or Path of an 8-bit PNG (or any image Pillow reads) of mode "L"
            (greyscale) or "RGB". Riffusion writes a mono image with R = G = B, whose
            red channel is read (as its reader does), and a stereo one with R = 0, G the
            left channel and B the right (``image_from_spectrogram``); an RGB image whose
            red channel is 0 everywhere (with the convention: the loudest value at every
            pixel) and whose green or blue is not is read as stereo, and its values are
            the mean of the left and right channels' values (the mixes' magnitudes are at
            most that mean; the pipeline is mono). ``metadata["stereo"]`` says which.
        preset: "riffusion", the only preset with an image convention to assume.
    Returns:
        ``(values, metadata)`` as `load_png`: float32 `(512, width)`, >= 0, in STFT
        magnitude units of audio in [-1, 1]; and a metadata dict with ``shape``,
        ``bit_depth`` 8, ``scaling``, ``transform`` and ``n_samples``, as `save_png`
        would have stored them.
    Raises:
        ParameterError: naming the value and the file, if the file is missing or
            undecodable, its mode is not "L" or "RGB", or its height is not 512.
    """
    if preset != "riffusion":
        raise ParameterError(f"Only the riffusion preset has an image convention to assume. Received: preset={preset!r}")
    path = Path(path)
    pixels, _text, mode, _fmt = _read_png(path)
    if mode not in RIFFUSION_MODES:
        raise ParameterError(
            f"A Riffusion image is 8-bit greyscale or RGB (mode L or RGB). Received: mode={mode!r}, path={str(path)!r}"
        )
    transform = riffusion_transform()
    if pixels.shape[0] != transform.n_mels:
        raise ParameterError(
            f"A Riffusion image has {transform.n_mels} mel rows (its height). "
            f"Received: height={pixels.shape[0]}, path={str(path)!r}"
        )
    stereo = mode == "RGB" and not pixels[..., 0].any() and bool(pixels[..., 1:].any())
    channels = [pixels[..., 1], pixels[..., 2]] if stereo else [pixels[..., 0] if mode == "RGB" else pixels]
    scaling = {"kind": "power", "power": RIFFUSION_IMAGE_SCALING["power"], "max_value": RIFFUSION_MAX_VALUE}
    # each channel (n_mels, n_frames), top row = the highest band
    values = np.mean([_unscale(c[::-1].astype(np.float64) / 255.0, scaling) for c in channels], axis=0)
    values = values.astype(np.float32)
    metadata = {
        "format": FORMAT_NAME, "version": FORMAT_VERSION, "shape": list(values.shape), "bit_depth": 8, "stereo": stereo,
        "scaling": scaling, "transform": {"class": type(transform).__name__, "config": transform.get_config()},
        "n_samples": transform.samples_for(values.shape[1]),
    }
    return values, metadata


def load_png(path):
    """Read a PNG written by `save_png` back into values.

    Args:
        path: str or Path of the image.
    Returns:
        ``(values, metadata)``: float32 array `(n_rows, n_frames)` (row 0 the
        lowest frequency), the stored values up to quantisation (see the module
        docstring); and the metadata dict (``shape``, ``bit_depth``,
        ``scaling``, and ``transform`` / ``n_samples`` if stored).
    Raises:
        ParameterError: naming the file, if it is missing, not a PNG, or lacks
            this module's metadata or disagrees with it.
    """
    path = Path(path)
    pixels, text, mode, fmt = _read_png(path)
    if fmt != "PNG" or METADATA_KEY not in text:
        raise ParameterError(
            f"Not a spectrogram image of preprocessing.spectrogram_image (no {METADATA_KEY!r} PNG text chunk; "
            f"to-audio --preset riffusion reads a Riffusion image without it). Received: path={str(path)!r}"
        )
    try:
        metadata = json.loads(text[METADATA_KEY])
        bit_depth, scaling, shape = metadata["bit_depth"], metadata["scaling"], tuple(metadata["shape"])
        valid = (
            metadata.get("format") == FORMAT_NAME and metadata.get("version") == FORMAT_VERSION
            and bit_depth in BIT_DEPTHS and scaling.get("kind") in SCALINGS and mode in _MODES[bit_depth]
            and pixels.shape == shape
        )
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ParameterError(f"Spectrogram image metadata is malformed ({err}). Received: path={str(path)!r}") from err
    if not valid:
        raise ParameterError(
            f"Spectrogram image metadata does not match the image (mode {mode}, shape {pixels.shape}, "
            f"metadata {text[METADATA_KEY][:200]}). Received: path={str(path)!r}"
        )
    u = pixels[::-1].astype(np.float64) / (2**bit_depth - 1)
    return _unscale(u, scaling).astype(np.float32), metadata


def transform_from_metadata(metadata, path="<metadata>"):
    """Rebuild the transform stored by `save_png` (``metadata["transform"]``).

    Raises:
        ParameterError: naming ``path``, if no transform is stored or its class is unknown.
    """
    stored = metadata.get("transform")
    if stored is None:
        raise ParameterError(f"The image's metadata holds no transform; it cannot be turned into audio. Received: path={str(path)!r}")
    return transform_from_payload(stored, path)


# === CLI ===


def to_image(args):
    """audio -> spectrogram -> PNG (with the transform's config and the audio's length)."""
    make_transform, scaling = PRESETS[args.preset]
    transform = make_transform()
    signal = Loader(transform.sample_rate).load(args.input)
    if transform.frames_for(len(signal)) == 0:
        raise ParameterError(
            f"Audio file is shorter than one hop ({transform.hop_length} samples at {transform.sample_rate} Hz). "
            f"Received: path={str(args.input)!r}"
        )
    values = transform.extract(signal)
    save_png(values, args.output, bit_depth=args.bit_depth, transform=transform, n_samples=len(signal), **scaling)
    print(f"{args.output}: {values.shape[0]} x {values.shape[1]}, {args.bit_depth}-bit, {args.preset} preset")


def _read_for_audio(path, preset):
    """`load_png`, or `load_preset_png` for a PNG without metadata when ``preset`` is given; warns on stderr."""
    if has_metadata(path):
        if preset is not None:
            print(f"warning: {path} carries its own spectrogram metadata, which is used; --preset {preset} ignored",
                  file=sys.stderr)
        return load_png(path)
    if preset is None:
        return load_png(path)  # refuses it, naming the file and --preset riffusion
    values, metadata = load_preset_png(path, preset)
    print(f"warning: {path} carries no spectrogram metadata; scaling (power {metadata['scaling']['power']:g}, "
          f"max_value {RIFFUSION_MAX_VALUE:.1f}, Riffusion's 30e6 for int16 audio) and transform assumed from the "
          f"{preset} preset" + ("; stereo (R = 0): the mean of the left (G) and right (B) channels"
                                if metadata["stereo"] else ""), file=sys.stderr)
    return values, metadata


def to_audio(args):
    """PNG -> values -> the stored transform's inverse -> 16-bit WAV."""
    if args.griffin_lim_iters < 1:
        raise ParameterError(f"--griffin-lim-iters must be >= 1. Received: griffin_lim_iters={args.griffin_lim_iters}")
    values, metadata = _read_for_audio(args.input, args.preset)
    transform = transform_from_metadata(metadata, args.input)
    # the Griffin-Lim settings apply to the transforms that take them (`Transform.applicable_options`)
    options = transform.applicable_options(n_iter=args.griffin_lim_iters, random_state=args.seed)
    audio = transform.invert(values, length=metadata.get("n_samples"), **options)
    with atomic_path(args.output) as tmp:
        sf.write(tmp, np.clip(audio, -1.0, 1.0), transform.sample_rate, subtype="PCM_16", format="WAV")
    print(f"{args.output}: {len(audio) / transform.sample_rate:.3f} s at {transform.sample_rate} Hz")


def build_parser():
    """The CLI's parser: verbs ``to-image`` and ``to-audio``."""
    parser = argparse.ArgumentParser(
        prog="python -m preprocessing.spectrogram_image", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = parser.add_subparsers(dest="verb", required=True)
    image = verbs.add_parser("to-image", help="audio file -> spectrogram PNG")
    image.add_argument("input", help="audio file (wav, flac, ogg, mp3); resampled to the preset's rate")
    image.add_argument("output", help="PNG written")
    image.add_argument("--preset", choices=sorted(PRESETS), default="default",
                       help="default: 16 kHz 128-band dB mel, linear scaling; riffusion: Riffusion's 512-band "
                            "linear mel at 44.1 kHz, power-0.25 scaling (5.12 s -> 512 x 512)")
    image.add_argument("--bit-depth", type=int, choices=BIT_DEPTHS, default=8, help="bits per pixel (default 8)")
    image.set_defaults(job=to_image)
    audio = verbs.add_parser("to-audio", help="spectrogram PNG written by to-image -> WAV")
    audio.add_argument("input", help="PNG written by to-image (or save_png with a transform), or by Riffusion")
    audio.add_argument("output", help="WAV written (16-bit PCM, at the transform's sample rate)")
    audio.add_argument("--griffin-lim-iters", type=int, default=GRIFFIN_LIM_ITERATIONS,
                       help=f"Griffin-Lim iterations (default {GRIFFIN_LIM_ITERATIONS})")
    audio.add_argument("--seed", type=int, default=0, help="seed of Griffin-Lim's random initial phase (default 0)")
    audio.add_argument("--preset", choices=["riffusion"], default=None,
                       help="for a PNG without this tool's metadata: read it by Riffusion's conventions (8-bit RGB "
                            "or greyscale, 512 mel rows, power 0.25, max 915.5 for audio in [-1, 1], the riffusion "
                            "transform, 441 samples per column); a PNG with metadata ignores it")
    audio.set_defaults(job=to_audio)
    return parser


def main(argv=None) -> int:
    """CLI entry point; returns the exit status (0 ok, 2 bad input)."""
    args = build_parser().parse_args(argv)
    return exit_status(args.job, args)


if __name__ == "__main__":
    sys.exit(main())
