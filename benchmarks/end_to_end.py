"""End-to-end sampling real-time factor: noise -> spectrograms -> audio -> a WAV file of a whole piece.

Usage:
    python -m benchmarks.end_to_end --model saved_models/chorales_ddim --duration 10 --repeats 3
    python -m benchmarks.end_to_end --model saved_models/chorales_ddim --steps 20 --out outputs/piece

A piece of ``--duration`` seconds is ``ceil(duration / window)`` model windows
(3.072 s each for the shipped DDIM: 4 for 10 s), sampled in one batch, one
seed per window, at the model's default DDIM steps (its run's
``sampling_steps``; ``--steps`` overrides); the windows' spectrograms are
joined end to end and cut to the frames of ``duration``, the piece is
inverted once with Griffin-Lim (the run's ``griffin_lim_iters``, else 32;
before 2026-12-02 each whole window was inverted, then the audio was cut) and
written as a 16-bit WAV (into ``--out``, default a temporary folder, removed
after).

Two measurements, each from noise to the WAV file on disk:

    cold   the first piece in this process, including loading the model (and
           with it importing TensorFlow and Keras), tracing the network and
           the first Griffin-Lim call; the imports before it (librosa,
           matplotlib: the generation code cannot be imported without them)
           are timed apart, as "imports s";
    warm   the next ``--repeats`` pieces (new seeds) with all of that done; the
           median, and its split into network, Griffin-Lim and WAV writing; with
           the share of the machine's CPU time the hypervisor stole and other
           processes used meanwhile (`benchmarks.report.CpuShares`; Linux only).

The real-time factor is ``duration / wall seconds`` (above 1: faster than
real time). Prints one row per measurement, then the peak RSS.
"""

import time

_IMPORTS_START = time.perf_counter()

import argparse  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.report import CpuShares, add_json_argument, print_peak_rss, significant, write_results  # noqa: E402
from common.cli import exit_status  # noqa: E402
from common.errors import ParameterError  # noqa: E402
from generate.sounds import DEFAULT_MODEL, SAMPLER_NAMES  # noqa: E402
from generate.trained_model import add_precision_argument  # noqa: E402
from generate.trained_model import TrainedModel  # noqa: E402
from generate.wav_file import write_wav  # noqa: E402

# what this module's imports took (librosa, matplotlib through generate.sounds; TensorFlow
# and Keras come with the first model, in the cold figure): the part of a fresh process's
# start the cold figure leaves out
IMPORTS_S = time.perf_counter() - _IMPORTS_START


def piece(model, sound_generator, seeds, steps, duration_s, path):
    """Sample, invert, join and write one piece; return the seconds each stage took.

    Args:
        model: a DDIM `generate.trained_model.TrainedModel`.
        sound_generator: the `SoundGenerator` of the same run folder.
        seeds: one int per window; the windows are joined in this order.
        steps: DDIM steps.
        duration_s: float > 0, seconds kept of the joined windows.
        path: the WAV file written (mono, 16-bit, at the transform's sample_rate).
    Returns:
        ``{"network s": s, "griffin-lim s": s, "write s": s}``, wall seconds.
    """
    sample_rate = sound_generator.transform.sample_rate
    start = time.perf_counter()
    spectrograms = model.spectrograms(seeds=seeds, steps=steps)  # (windows, n_freq_bins, n_frames)
    network_s = time.perf_counter() - start
    start = time.perf_counter()
    length = int(round(duration_s * sample_rate))
    frames = sound_generator.transform.frames_for(length) + 1  # the frames the piece keeps (one more: no rounding short)
    joined = np.concatenate(list(np.asarray(spectrograms)), axis=1)[:, :frames]
    audio = sound_generator.generate([joined], seeds=seeds[:1])[0][:length]
    inversion_s = time.perf_counter() - start
    start = time.perf_counter()
    write_wav(path, audio, sample_rate)
    return {"network s": network_s, "griffin-lim s": inversion_s, "write s": time.perf_counter() - start}


def measure(model_dir, out_dir, duration_s=10.0, steps=None, repeats=3, precision=None):
    """Cold and warm end-to-end timings of a ``duration_s`` piece.

    Args:
        model_dir: a DDIM run folder.
        out_dir: folder the WAVs are written to: ``piece_cold.wav``, and
            ``piece_warm_K.wav`` for K = 1 .. repeats.
        duration_s: float > 0, seconds per piece.
        steps: DDIM steps, or None for the run's default.
        repeats: int >= 1, warm pieces timed after the cold one.
        precision: the network's precision (`models.precision.PRECISIONS`), or None for the run's.
    Returns:
        list of two rows ``{"setting": str, "figures": {...}}``: cold (with the
        module's import seconds apart), then warm (medians over the repeats),
        each with wall seconds and x real time.
    Raises:
        ParameterError: if the folder is not a DDIM run, or an argument is out of range.
    """
    if not duration_s > 0 or repeats < 1:
        raise ParameterError(
            f"--duration must be > 0 and --repeats >= 1. Received: duration={duration_s}, repeats={repeats}"
        )
    start = time.perf_counter()
    model = TrainedModel(model_dir, precision=precision)  # the run and its sound generator, once
    if model.kind != "ddim":
        raise ParameterError(f"The end-to-end benchmark samples a DDIM. Received: model_dir={str(model_dir)!r}")
    sound_generator = model.sound_generator
    steps = steps or model.default_steps()
    transform = sound_generator.transform
    windows = math.ceil(duration_s * transform.sample_rate / model.clip_samples)
    piece(model, sound_generator, list(range(windows)), steps, duration_s, Path(out_dir) / "piece_cold.wav")
    cold_s = time.perf_counter() - start
    with CpuShares() as cpu:
        warm = [
            piece(model, sound_generator, list(range(k * windows, (k + 1) * windows)), steps, duration_s,
                  Path(out_dir) / f"piece_warm_{k}.wav")
            for k in range(1, repeats + 1)
        ]
    warm_s = statistics.median(sum(stages.values()) for stages in warm)
    sampler = SAMPLER_NAMES.get(model.default_sampler(), model.default_sampler())
    setting = f"{duration_s:g} s piece, {windows} windows, {steps} {sampler} steps, Griffin-Lim {model.n_iter}, {model.precision}"
    return [
        {"setting": f"{setting}, cold",
         "figures": {"wall s": significant(cold_s), "x real time": significant(duration_s / cold_s),
                     "imports s": significant(IMPORTS_S)}},
        {"setting": f"{setting}, warm (median of {repeats})",
         "figures": {"wall s": significant(warm_s), "x real time": significant(duration_s / warm_s),
                     **{stage: significant(statistics.median(w[stage] for w in warm)) for stage in warm[0]},
                     **cpu_figures(cpu)}},
    ]


def cpu_figures(cpu):
    """A `CpuShares`'s shares as percentages, ``{"steal %": ..., "others %": ...}``; empty without /proc."""
    if cpu.steal_share is None:
        return {}
    return {"steal %": significant(100 * cpu.steal_share, 2), "others %": significant(100 * cpu.others_share, 2)}


def run(args):
    """Measure, print the table and write the JSON; returns 0."""
    with tempfile.TemporaryDirectory(prefix="bench_end_to_end_") as tmp:
        out_dir = Path(args.out or tmp)
        rows = measure(args.model, out_dir, args.duration, args.steps, args.repeats, args.precision)
    print(f"model {args.model}: noise to WAV, Griffin-Lim with the run's iterations (griffin_lim_iters, else 32)")
    print(
        f"{'piece':<72} {'wall s':>8} {'x real time':>12} {'network s':>10} {'Griffin-Lim s':>14} {'write s':>8} "
        f"{'imports s':>10}"
    )
    for row in rows:
        f = row["figures"]
        split = "".join(
            f" {f[key]:>{width}.3f}" if key in f else f" {'':>{width}}"
            for key, width in (("network s", 10), ("griffin-lim s", 14), ("write s", 8), ("imports s", 10))
        )
        print(f"{row['setting']:<72} {f['wall s']:>8.3f} {f['x real time']:>12.2f}{split}")
        if "steal %" in f:
            print(f"  while the warm pieces ran: {f['steal %']:g} % of the CPU stolen by the hypervisor, "
                  f"{f['others %']:g} % used by other processes (figures mean little when either is large)")
    print_peak_rss()
    write_results(args.json, "end-to-end sampling", rows)
    return 0


def main(argv=None):
    """CLI entry point; returns the exit status (0, or 2 for a bad model folder or argument)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"DDIM run folder (default {DEFAULT_MODEL})")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per piece (default 10)")
    parser.add_argument("--steps", type=int, default=None, help="DDIM steps (default: the run's sampling_steps)")
    parser.add_argument("--repeats", type=int, default=3, help="warm pieces timed (default 3)")
    add_precision_argument(parser)
    parser.add_argument("--out", default=None, help="folder the WAVs are kept in (default: a temporary one)")
    add_json_argument(parser)
    return exit_status(run, parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
