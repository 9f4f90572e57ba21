"""Where a model's FAD comes from: FAD with every set low-passed or high-passed at a cutoff.

Usage:
    python -m benchmarks.band_fad --model saved_models/chorales_ddim --steps 7 --griffin-lim-iters 16
    python -m benchmarks.band_fad --model M --cutoffs lowpass:1000 highpass:2000

It draws the held-out real clips and the model's samples as ``generate.evaluate``
does (the same arguments, halves and seeds; see `generate.evaluate`), then, for each
cutoff, filters the reference half, the other real half (the floor) and the samples
with the same 8th-order Butterworth filter (``scipy.signal.butter``, second-order
sections, applied forwards and backwards: zero phase) and prints the FAD of the floor
and of the model against the filtered reference (musicnn embeddings,
`evaluation.compare.score_sets`). A model whose FAD falls to the floor's once the
band above a cutoff is removed is right below that cutoff and wrong above it.
"""

import sys

import numpy as np

from common.errors import ParameterError

DEFAULT_CUTOFFS = ("none", "lowpass:4000", "lowpass:2000", "lowpass:1000", "lowpass:500", "highpass:1000",
                   "highpass:2000")
FILTER_ORDER = 8


def parse_cutoff(text):
    """``"none"``, ``"lowpass:HZ"`` or ``"highpass:HZ"`` -> ``(kind, hz)``; ParameterError naming it otherwise."""
    if text == "none":
        return "none", 0.0
    kind, _, hz = text.partition(":")
    try:
        value = float(hz)
    except ValueError:
        value = -1.0
    if kind not in ("lowpass", "highpass") or not value > 0:
        raise ParameterError(f"A cutoff is none, lowpass:HZ or highpass:HZ (HZ > 0). Received: cutoff={text!r}")
    return kind, value


def band_filter(clips, kind, hz, sample_rate):
    """``clips`` (float mono arrays) through the zero-phase Butterworth filter; ``kind`` none returns them.

    Raises:
        ParameterError: for a cutoff at or above the Nyquist frequency, naming it.
    """
    import scipy.signal

    if kind == "none":
        return list(clips)
    if hz >= sample_rate / 2:
        raise ParameterError(f"A cutoff must lie below the Nyquist frequency {sample_rate / 2:g} Hz. Received: hz={hz:g}")
    sos = scipy.signal.butter(FILTER_ORDER, hz, btype=kind, fs=sample_rate, output="sos")
    return [scipy.signal.sosfiltfilt(sos, np.asarray(c, np.float64)).astype(np.float32) for c in clips]


def main(argv=None):
    """CLI entry point: prints one row per band (floor FAD, model FAD, model KID) and returns the exit status.

    Args:
        argv: ``generate.evaluate``'s arguments (one ``--model``; the first is scored) plus
            ``--cutoffs`` (default `DEFAULT_CUTOFFS`); None reads ``sys.argv``.
    Returns:
        0, or 2 after one ``error:`` line on stderr for bad input (a cutoff that is not
        none, lowpass:HZ or highpass:HZ, a cutoff at or above Nyquist, or what
        ``generate.evaluate`` refuses).
    """
    import argparse

    from evaluation.compare import AudioSet, score_sets
    from evaluation.embeddings import MusicnnEmbedder
    from generate.evaluate import clip_format, model_set, parse_args, real_halves
    from generate.trained_model import TrainedModel

    own = argparse.ArgumentParser(add_help=False)
    own.add_argument("--cutoffs", nargs="+", default=list(DEFAULT_CUTOFFS))
    known, argv = own.parse_known_args(sys.argv[1:] if argv is None else argv)
    try:
        bands = [parse_cutoff(c) for c in known.cutoffs]
        args = parse_args(argv)
        model = TrainedModel(args.model[0], n_iter=args.griffin_lim_iters)
        sample_rate, clip_samples = clip_format([model], args.patch_seconds)
        reference, held_out, _, _ = real_halves(args, model, clip_samples, sample_rate)
        samples = model_set(model, args, [args.seed + i for i in range(len(reference))], None, clip_samples).clips
        embedder = MusicnnEmbedder(args.embedding, patch_seconds=args.patch_seconds)
        print(f"{'band':>16} | floor FAD | model FAD | model KID")
        for kind, hz in bands:
            sets = [band_filter(s, kind, hz, sample_rate) for s in (reference, held_out, samples)]
            rows = score_sets(AudioSet("reference", sets[0], sample_rate, "reference"),
                              [AudioSet("floor", sets[1], sample_rate, "floor"), AudioSet("model", sets[2], sample_rate)],
                              embedder, seed=args.seed)
            band = "full band" if kind == "none" else f"{kind} {hz:g} Hz"
            print(f"{band:>16} | {rows[0]['fad']:9.2f} | {rows[1]['fad']:9.2f} | {rows[1]['kid']:9.3f}", flush=True)
    except ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
