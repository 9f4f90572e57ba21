"""Long-form generation: real-time factor and seams of outpainted pieces and loops.

Usage:
    python -m benchmarks.long_form --model saved_models/chorales_ddim --durations 10 60 --json outputs/long_form.json

For each ``--durations`` value, a piece is outpainted from nothing by
`generate.long_form.long_piece` (windows inpainted from half a window of the
previous one, masked DDIM at the model's default steps, one Griffin-Lim
inversion of the whole piece; WAV writing not included), after one untimed
3 s warm-up piece (model loading and tracing). Then ``--loops`` loops of one
window each (`generate.long_form.loop`). Reported per row:

    x real time     audio seconds / wall seconds (above 1: faster than real time)
    s/window        network seconds per window (wall minus the inversion)
    seam ratio      `evaluation.seams.seam_ratio`: the spectral flux across the
                    joins (where a window's new frames meet the known ones;
                    for a loop, its end meeting its start) over the same
                    statistic within the windows; 1 is no measurable seam
    join dB, within dB  the two fluxes

Seeds 0, 1, ... for the pieces (``--seeds`` per duration, seam figures averaged).
Prints one row per setting and the peak RSS.
"""

import argparse
import time

import numpy as np

from benchmarks.report import add_json_argument, print_peak_rss, significant, write_results


def main(argv=None):
    """Run the benchmark; returns 0."""
    from evaluation.seams import seam_ratio
    from generate import long_form
    from generate.trained_model import TrainedModel

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="saved_models/chorales_ddim")
    parser.add_argument("--durations", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--seeds", type=int, default=1, help="pieces per duration (default 1)")
    parser.add_argument("--loops", type=int, default=3, help="loops measured (default 3)")
    parser.add_argument("--steps", type=int, default=None, help="DDIM steps (default: the model's)")
    add_json_argument(parser)
    args = parser.parse_args(argv)

    trained = TrainedModel(args.model)  # the run and its sound generator, once
    model = trained.model
    sound_generator = trained.sound_generator
    transform = sound_generator.transform
    sr, hop = transform.sample_rate, transform.hop_length
    steps = args.steps or trained.default_steps()
    long_form.long_piece(model, sound_generator, 3.0, steps, seed=999)  # warm-up: loading, tracing
    rows = []
    for duration in args.durations:
        walls, inversions, seams, windows = [], [], [], 0
        for seed in range(args.seeds):
            start = time.perf_counter()
            audio, piece, plan = long_form.long_piece(model, sound_generator, duration, steps, seed=seed)
            walls.append(time.perf_counter() - start)
            start = time.perf_counter()
            long_form.invert(sound_generator, piece, len(audio), seed)
            inversions.append(time.perf_counter() - start)
            seams.append(seam_ratio(audio, sr, long_form.piece_joins(plan, hop)))
            windows = len(plan)
        wall = float(np.median(walls))
        rows.append({"setting": f"{duration:g} s piece, {windows} windows, {steps} DDIM steps", "figures": {
            "wall s": significant(wall), "x real time": significant(duration / wall),
            "s/window": significant((wall - float(np.median(inversions))) / windows),
            "griffin-lim s": significant(float(np.median(inversions))),
            "seam ratio": significant(float(np.mean([s["ratio"] for s in seams]))),
            "join dB": significant(float(np.mean([s["join_flux_db"] for s in seams]))),
            "within dB": significant(float(np.mean([s["within_flux_db"] for s in seams]))),
        }})
    if args.loops:
        seams, walls = [], []
        window_s = float(model.data_shape[1]) * hop / sr
        for seed in range(args.loops):
            start = time.perf_counter()
            audio, _, _ = long_form.loop(model, sound_generator, window_s, steps, seed=seed)
            walls.append(time.perf_counter() - start)
            seams.append(seam_ratio(np.tile(audio, 2), sr, [len(audio)]))
        rows.append({"setting": f"loop of one window ({window_s:.3f} s), {args.loops} seeds", "figures": {
            "wall s": significant(float(np.median(walls))),
            "seam ratio": significant(float(np.mean([s["ratio"] for s in seams]))),
            "join dB": significant(float(np.mean([s["join_flux_db"] for s in seams]))),
            "within dB": significant(float(np.mean([s["within_flux_db"] for s in seams]))),
        }})
    print(f"model {args.model}: long-form generation, {steps} DDIM steps, Griffin-Lim {sound_generator.n_iter} iterations")
    for row in rows:
        print(f"{row['setting']:<48} " + ", ".join(f"{v:g} {k}" for k, v in row["figures"].items()))
    print_peak_rss()
    write_results(args.json, "long-form generation", rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
