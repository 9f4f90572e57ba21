"""The long-form modes of ``python -m generate.sounds``: long, continue, inpaint, loop, interpolate, crossfade.

Usage:
    python -m generate.sounds long --duration 60 --seed 0 --steps 10 --out outputs/long.wav
    python -m generate.sounds continue --input song.wav --duration 20 --out outputs/continued.wav
    python -m generate.sounds inpaint --input song.wav --gap 4.0 6.5 --out outputs/filled.wav
    python -m generate.sounds loop --duration 6 --out outputs/loop.wav
    python -m generate.sounds interpolate --seed 0 --seed-b 1 --num 5 --out outputs/interpolation
    python -m generate.sounds interpolate --input a.wav --input-b b.wav --num 5   # two real clips, DDIM inversion
    python -m generate.sounds crossfade --input a.wav --input-b b.wav --fade-beats 4 --out outputs/crossfade.wav

A score-roll model does ``long`` and ``continue`` (``--input`` a MIDI file or ``test:N``,
``--prompt-bars N``) on its bar grid and writes MIDI beside the WAV: `generate.roll_long_form`;
one trained with key normalisation writes ``long`` in ``--key`` (`generate.written_key`).

Each writes its WAV(s) atomically and a JSON report beside them (``<out>.json``, or
``report.json`` in the interpolation folder) with timings and the seam measure
(`evaluation.seams.seam_ratio`), and prints one line per window. A listening page
goes beside them too (`generate.listening_page`): ``<out stem>.html`` with a player and
the spectrogram (``<out stem>.png``, window joins dashed), or ``index.html`` in the
interpolation folder. Exit status:
0 on success, 2 for a bad argument, model folder or input file (nothing is written then).
See `generate.long_form` for the method.
"""

import argparse
import time
from pathlib import Path

import numpy as np

from common.atomic import atomic_write_json
from common.cli import exit_status
from common.errors import ParameterError
from evaluation.seams import seam_ratio
from generate import long_form, listening_page, roll_long_form
from generate.trained_model import DEFAULT_MODEL, TrainedModel, add_precision_argument
from generate.wav_file import write_wav
from preprocessing.transform import GRIFFIN_LIM_ITERATIONS, MIDI

MODES = ("long", "continue", "inpaint", "loop", "interpolate", "crossfade")


def parse_args(argv):
    """Parse ``MODE [options]``. Raises ParameterError for --steps, --num or --resample below their minimum."""
    parser = argparse.ArgumentParser(
        prog="python -m generate.sounds", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1],
    )
    sub = parser.add_subparsers(dest="mode", required=True)
    crossfade = sub.add_parser("crossfade", help="two audio files joined on a beat (no model)")
    crossfade.add_argument("--input", required=True, help="the first file (its end fades out)")
    crossfade.add_argument("--input-b", required=True, help="the second file (its start fades in)")
    crossfade.add_argument("--fade-beats", type=int, default=4, help="fade length in beats of the first file (default 4)")
    crossfade.add_argument("--out", default=None, help="output WAV (default outputs/crossfade.wav)")
    for mode in MODES[:-1]:
        p = sub.add_parser(mode)
        p.add_argument("--model", default=DEFAULT_MODEL, help=f"trained DDIM folder (default {DEFAULT_MODEL})")
        p.add_argument("--steps", type=int, default=None, help="DDIM steps per window (default: the model's sampling_steps)")
        p.add_argument("--seed", type=int, default=0, help="seed of the piece (default 0)")
        p.add_argument("--out", default=None, help=f"output WAV (default outputs/{mode}.wav; a folder for interpolate)")
        p.add_argument("--overlap", type=float, default=long_form.DEFAULT_OVERLAP,
                       help=f"known context per window, fraction of a window (default {long_form.DEFAULT_OVERLAP})")
        p.add_argument("--resample", type=int, default=1, help="RePaint resampling rounds per step (default 1: none)")
        p.add_argument("--eta", type=float, default=0.0, help="DDIM eta in [0, 1] (default 0)")
        add_precision_argument(p)
        p.add_argument("--griffin-lim-iters", type=int, default=None,
                       help=f"Griffin-Lim iterations (default: the run's griffin_lim_iters, else "
                            f"{GRIFFIN_LIM_ITERATIONS})")
        p.add_argument("--max-duration", type=float, default=long_form.MAX_DURATION_S,
                       help=f"largest --duration accepted, seconds (default {long_form.MAX_DURATION_S:g})")
        if mode in ("continue", "inpaint"):
            p.add_argument("--input", required=True, help="the audio file to continue or to fill (a score-roll model "
                                                          "continues a MIDI file, or test:N)")
        if mode == "long":
            p.add_argument("--key", default=None,
                           help="score-roll runs trained with key normalisation: the key the piece is written in, e.g. "
                                "'D minor' or G (default: a key drawn from the training data, by seed)")
        if mode == "continue":
            p.add_argument("--prompt-bars", type=int, default=None,
                           help="score-roll models: continue after the input's first N bars (default: after all of it)")
        if mode == "inpaint":
            p.add_argument("--gap", type=float, nargs=2, required=True, metavar=("START", "END"), help="seconds")
        else:
            default = {"long": "30", "continue": "10", "loop": "one window", "interpolate": "NUM windows"}[mode]
            p.add_argument("--duration", type=float, default=None, help=f"seconds (default {default})")
        if mode == "interpolate":
            p.add_argument("--input", default=None, help="with --input-b: interpolate between two real clips (DDIM inversion)")
            p.add_argument("--input-b", default=None, help="the other real clip's file")
            p.add_argument("--seed-b", type=int, default=None, help="the other seed (default SEED + 1)")
            p.add_argument("--num", type=int, default=5, help="clips from one seed to the other (default 5)")
    args = parser.parse_args(argv)
    if args.mode == "crossfade":
        return args
    if args.steps is not None and args.steps < 1:
        raise ParameterError(f"--steps must be >= 1. Received: steps={args.steps}")
    if args.resample < 1:
        raise ParameterError(f"--resample must be >= 1. Received: resample={args.resample}")
    if not 0.0 < args.overlap < 1.0:
        raise ParameterError(f"--overlap must be in (0, 1). Received: overlap={args.overlap}")
    if not 0.0 <= args.eta <= 1.0:
        raise ParameterError(f"--eta must be in [0, 1]. Received: eta={args.eta}")
    if args.mode in ("long", "continue", "loop") and args.duration is not None:
        long_form.check_duration(args.duration, args.max_duration)
    if args.mode == "interpolate" and args.num < 2:
        raise ParameterError(f"--num must be >= 2 for an interpolation. Received: num={args.num}")
    return args


def run_crossfade(args):
    """Crossfade ``--input`` into ``--input-b`` on a beat; writes the WAV and its JSON report."""
    import librosa

    from generate.crossfade import beat_aligned_crossfade
    from preprocessing.loader import Loader

    for name, path in (("input", args.input), ("input_b", args.input_b)):
        if not Path(path).is_file():
            raise ParameterError(f"Audio file not found. Received: {name}={path!r}")
    try:
        sample_rate = int(librosa.get_samplerate(args.input))
    except Exception as err:  # soundfile/audioread raise many types for a bad file
        raise ParameterError(f"Cannot read the audio file ({type(err).__name__}). Received: input={args.input!r}") from err
    loader = Loader(sample_rate)
    audio, report = beat_aligned_crossfade(loader.load(args.input), loader.load(args.input_b), sample_rate, args.fade_beats)
    out = Path(args.out or Path("outputs") / "crossfade.wav")
    write_wav(out, audio, sample_rate)
    report.update(mode="crossfade", input=args.input, input_b=args.input_b, sample_rate=sample_rate,
                  audio_seconds=round(len(audio) / sample_rate, 4), audio_samples=len(audio))
    atomic_write_json(out.with_suffix(".json"), report)
    fade = [report["fade_start_a_s"], min(len(audio) / sample_rate, report["fade_start_a_s"] + report["fade_s"])]
    listening_page.write_piece_page(out, dict(report, fade_beats=args.fade_beats), audio, sample_rate, fade)
    print(f"Wrote {out} (and {out.with_suffix('.html')}): {len(audio) / sample_rate:.2f} s; tempo {report['tempo_a_bpm']} -> {report['tempo_b_bpm']} BPM "
          f"({report['tempo_difference_bpm']:+} BPM), fade {report['fade_s']} s from {report['fade_start_a_s']} s.",
          flush=True)
    return report


def run_interpolation(args, model, sound_generator, steps, overlap, progress, out, report):
    """The interpolate mode: write ``interpolation_XX.wav`` and ``continuous.wav`` into ``out``; update ``report``.

    Returns:
        ``(clips, audio, joins)``: the clips' and the continuous piece's float32 audio, and the
        continuous piece's window joins in samples.
    """
    transform, sr, width = sound_generator.transform, sound_generator.transform.sample_rate, int(model.data_shape[1])
    seed_b = args.seed + 1 if args.seed_b is None else args.seed_b
    if (args.input is None) != (args.input_b is None):
        raise ParameterError(f"Give both --input and --input-b, or neither. Received: input={args.input!r}, input_b={args.input_b!r}")
    if args.input is not None:
        clips, audio, _ = long_form.clip_interpolation(
            model, sound_generator, args.input, args.input_b, args.num, steps, args.seed
        )
        report.update(input=args.input, input_b=args.input_b,
                      diffusion_steps=max(steps, long_form.MIN_INVERSION_STEPS))  # the steps inversion took
        joins = [k * len(clips[0]) for k in range(1, args.num)]  # the clips joined end to end
    else:
        clips, audio, _ = long_form.interpolation(
            model, sound_generator, args.seed, seed_b, args.num, steps, args.duration, overlap, progress,
            args.max_duration,
        )
        known = np.zeros(transform.frames_covering(len(audio)), bool)  # outpainted like a long piece
        joins = long_form.piece_joins(long_form.window_plan(known, width, overlap), transform.hop_length)
    for i, clip in enumerate(clips):
        write_wav(out / f"interpolation_{i:02d}.wav", clip, sr)
    write_wav(out / "continuous.wav", audio, sr)
    report.update(seed_b=seed_b, num=args.num)
    return clips, audio, joins


def run(args):
    """Generate the mode's audio, write it and its report; returns the report dict."""
    if args.mode == "crossfade":
        return run_crossfade(args)

    trained = TrainedModel(args.model, n_iter=args.griffin_lim_iters, precision=args.precision)  # the run and its sound generator, once
    model_dir = trained.model_dir
    if trained.kind != "ddim" or trained.latent_decoder is not None:
        raise ParameterError(f"The long-form modes need a pixel-space DDIM model folder. Received: model={str(model_dir)!r}")
    if trained.sound_generator.transform.input_kind == MIDI:
        return roll_long_form.run(args, trained)
    if getattr(args, "key", None) is not None:
        raise ParameterError(f"--key is for score-roll models trained with key normalisation. Received: key={args.key!r}")
    if getattr(args, "prompt_bars", None) is not None:
        raise ParameterError(f"--prompt-bars is for score-roll models; continue an audio file by cutting it. "
                             f"Received: prompt_bars={args.prompt_bars}")
    sound_generator = trained.sound_generator
    model = trained.model
    transform = sound_generator.transform
    sr = transform.sample_rate
    width = int(model.data_shape[1])
    overlap = long_form.overlap_frames(width, args.overlap)
    steps = args.steps or trained.default_steps()
    out = Path(args.out or Path("outputs") / (args.mode if args.mode == "interpolate" else f"{args.mode}.wav"))
    common = dict(steps=steps, seed=args.seed, overlap=overlap, progress=None)
    started = time.monotonic()

    def progress(k, count, start):
        print(f"window {k + 1}/{count} (frames {start}-{start + width}), {time.monotonic() - started:.1f} s", flush=True)

    common["progress"] = progress
    extra = dict(eta=args.eta, resample=args.resample, max_duration_s=args.max_duration)
    report = {"mode": args.mode, "model_dir": str(model_dir), "seed": args.seed, "diffusion_steps": steps,
              "overlap_frames": overlap, "resample": args.resample, "eta": args.eta,
              "griffin_lim_iters": trained.n_iter, "precision": trained.precision}
    if args.mode == "interpolate":
        clips, audio, joins = run_interpolation(args, model, sound_generator, steps, overlap, progress, out, report)
        report_path = out / "report.json"
        what = f"{args.num} clips interpolation_XX.wav and continuous.wav in {out}/"
        seams = None
    else:
        if args.mode == "long":
            audio, _, plan = long_form.long_piece(model, sound_generator, args.duration or 30.0, **common, **extra)
        elif args.mode == "continue":
            audio, _, plan = long_form.continuation(model, sound_generator, args.input, args.duration or 10.0,
                                                    **common, **extra)
        elif args.mode == "inpaint":
            audio, _, plan = long_form.gap_fill(model, sound_generator, args.input, args.gap[0], args.gap[1],
                                                **common, **extra)
        else:
            duration = args.duration or transform.samples_for(width) / sr
            audio, _, plan = long_form.loop(model, sound_generator, duration, **common, **extra)
        joins = long_form.piece_joins(plan, transform.hop_length)
        if args.mode == "loop":
            seams = seam_ratio(np.tile(audio, 2), sr, [len(audio)])
        else:
            seams = seam_ratio(audio, sr, joins)
        write_wav(out, audio, sr)
        report.update(windows=len(plan), seams=seams)
        report_path = out.with_suffix(".json")
        what = str(out)
    elapsed = time.monotonic() - started
    seconds = len(audio) / sr
    report.update(audio_seconds=round(seconds, 4), audio_samples=len(audio), wall_seconds=round(elapsed, 3),
                  real_time_factor=round(seconds / elapsed, 3))
    atomic_write_json(report_path, report)
    marks = [j / sr for j in joins if j <= len(audio)]
    if args.mode == "interpolate":
        page = listening_page.write_interpolation_page(out, report, clips, audio, sr, marks)
    else:
        page = listening_page.write_piece_page(out, report, audio, sr, marks)
    seam_text = "" if not seams else f"; seam flux ratio {seams['ratio']:.3f} (joins {seams['join_flux_db']:.2f} dB, within {seams['within_flux_db']:.2f} dB)"
    print(f"Wrote {what} and {page}: {seconds:.2f} s of audio in {elapsed:.1f} s, {seconds / elapsed:.2f}x real time{seam_text}.",
          flush=True)
    return report


def main(argv=None):
    """Entry point of the modes; returns the exit status (0 success, 2 bad input)."""
    return exit_status(lambda: run(parse_args(argv)))
