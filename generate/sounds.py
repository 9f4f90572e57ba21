"""Sample a trained model, write WAVs beside real clips, and plot them together.

Usage:
    python -m generate.sounds                       # the built-in default model
    python -m generate.sounds --model saved_models/chorales_ddim --num 4 --steps 20 --seed 0 --out outputs/ddim

For a DDIM run folder (``network.keras`` + ``diffusion.json``) or a VAE run
folder (``vae_decoder.keras``) it samples ``--num`` new spectrograms, seed
``--seed + i`` for sample ``i`` (reproducible item by item); for an
autoencoder run folder (``autoencoder.keras``) it reconstructs the test clips.
Either way it takes ``--num`` real clips from the test split of the dataset
the model was trained on, and writes into ``--out``: ``generated_XX.wav``,
``original_XX.wav``, ``comparison.png`` (spectrograms in a grid of at most 6
pairs per row, each generated clip above its original, `generate.plots`) and
``report.json`` (timings, the gain the loudness limiter gave each generated
clip, and descriptors of both sets from `evaluation.audio_statistics`). A
generated clip whose RMS level is above the training clips' (their 95th
percentile) or whose peak is above -1 dBFS is scaled down (`generate.limiter`),
and a line says so. For a piano-roll model it also writes
``generated_XX.mid`` and ``original_XX.mid``, and the originals' WAVs are
their rolls rendered. When the model's own data set is not there and no ``--data``
is given, a DDIM or a VAE samples without originals (a warning says so).
Exit status: 0 on success, 2 for a bad model folder or argument.

It also writes ``index.html``, a listening page (`generate.listening_page`): each
generated clip's player and spectrogram (``generated_XX.png``) beside its original's,
the settings and the timings; it opens offline, from the file system.

Timings, printed and in ``report.json`` (``timing``), come in two figures. *Warm*
(``real_time_factor``) is the batch at steady state: sampling (or reconstructing)
every clip and inverting it to audio. *Cold* (``cold_real_time_factor``) is what a
first call in a fresh process costs: loading the model (the first model also
imports TensorFlow and Keras), a warm-up that runs the model on one sample (one
DDIM step: TensorFlow traces and optimises its graph) and inverts one clip as the
batch will (the Griffin-Lim graph is traced; librosa's numba functions are compiled,
or loaded from their on-disk cache), then the same batch. Neither includes importing numpy,
librosa and matplotlib (about 0.5 s), reading the originals, writing the files,
the plot or the descriptors. The warm-up costs one extra step on one sample;
without it the batch would pay the same one-time costs itself.

Key (score-roll runs trained with ``key_normalisation``, which write in C major / A minor):
``--key "D minor"`` (or ``--key G``) writes every sample in that key's signature; without it
each sample is written in a key drawn from the training clips' (seeded by its seed), and the
originals in their own keys; see `generate.written_key`.

Best of K (score-roll DDIM runs): every free sample is drawn ``--candidates`` K times (default: the
run's ``sampling_candidates``, 1: the plain sample) and the candidate a critic prefers is kept:
``--critic rules``, the fewest semitone clashes and parallel fifths and octaves (`generate.rule_critic`;
on the chorales: half the clashes, at some cost in FAD), or ``--critic learned``, the most like the
training clips to a classifier fitted to the run (`generate.learned_critic`; default: the run's
``sampling_critic``).

Harmonisation (score-roll DDIM runs): ``--harmonise melody.mid`` or ``--harmonise test:N``
keeps the melody as the top voice and inpaints the voices below it; see `generate.harmonise`.
``--fill-bars START N --piece test:N`` (or a MIDI file) regenerates bars of a piece and keeps
the rest; see `generate.bar_span`.

Long pieces, continuations, gap filling, loops and interpolations are modes named by
the first argument (``python -m generate.sounds long --duration 60``); see
`generate.long_form_cli`.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from common.atomic import atomic_write_json
from common.cli import exit_status
from common.errors import ParameterError
from evaluation.audio_statistics import mean_statistics
from evaluation.real_clips import own_key
from generate.listening_page import write_sounds_page
from generate.long_form_cli import MODES as LONG_FORM_MODES
from generate.plots import plot_comparison
from generate.trained_model import DEFAULT_MODEL, TrainedModel, add_guidance_interval_argument, add_precision_argument
from generate.wav_file import write_wav
from generate.written_key import sample_transpositions, written
from preprocessing.dataset_folder import DatasetFolder
from preprocessing.transform import GRIFFIN_LIM_ITERATIONS, MIDI
from train.config import SAMPLING_CRITICS


def test_clips(data_dir, num, seed):
    """Pick ``num`` test-split clips of a preprocessed dataset, spread over the split.

    Args:
        data_dir: str or Path of the data set (`preprocessing.dataset_folder.DatasetFolder`).
    Returns:
        List of manifest rows (dicts with ``path``, ``source_path``, ``offset_s``, ``duration_s``).
    Raises:
        ParameterError: if the dataset or its test split is missing.
    """
    data = DatasetFolder(data_dir)
    if not data.manifest_path.is_file():
        raise ParameterError(
            "The originals come from the test split of the model's dataset, which is not there: build it "
            "(bash scripts/demo.sh does, or python -m preprocessing.chorales and python -m preprocessing.run) "
            f"or pass --data. Received: data_dir={str(data_dir)!r}"
        )
    rows = data.split_rows("test")
    if not rows:
        raise ParameterError(f"The dataset has no test clips. Received: data_dir={str(data_dir)!r}")
    order = np.random.default_rng(seed).permutation(len(rows))[:num]
    return [rows[i] for i in sorted(order)]


def originals_for(args, model):
    """The test clips the samples are compared with, and their normalised spectrograms.

    From ``--data``, else from the model's data set. When the model's own data set is not
    there (a fresh clone holds only the demo's) and ``--data`` was not given, a DDIM or a VAE
    samples without originals: one warning line on stderr says so and how to get them.

    Returns:
        ``(rows, originals)``: `test_clips`'s rows, and float32 ``(len(rows), ...)`` normalised
        spectrograms (empty without originals).
    Raises:
        ParameterError: as `test_clips`, for a missing ``--data`` folder, or for an autoencoder
            without its data set (it reconstructs the originals).
    """
    data = DatasetFolder(args.data or model.data_dir)
    if args.data is None and model.kind != "autoencoder" and not data.manifest_path.is_file():
        print(f"warning: the model's data set {str(data.path)!r} is not there, so the samples are written without "
              "originals to compare with; build it (docs/MODELS.md) or pass --data", file=sys.stderr, flush=True)
        return [], np.zeros((0,), np.float32)
    rows = test_clips(data.path, args.num, args.seed)
    codec = model.sound_generator.codec
    return rows, np.stack([codec.normalise(data.read_clip(data.clip_path(row["path"]))) for row in rows])


def print_limits(limiter, limits):
    """Print one line per clip the limiter scaled down, after a line that says where its ceiling comes from."""
    limited = [(i, limit) for i, limit in enumerate(limits) if limit.limited_by]
    if not limited:
        return
    reference = {"model": f"the train clips' 95th percentile, from {limiter.reference_path}",
                 "data set": f"the train clips' 95th percentile, from the data set's {limiter.reference_path}",
                 "fixed": "a fixed level: the model's data set has no level summary"}[limiter.reference]
    print(f"Limited {len(limited)} of {len(limits)} generated clips to RMS <= {limiter.rms_ceiling_dbfs:.2f} dBFS "
          f"({reference}) and peak <= {limiter.peak_ceiling_dbfs:.2f} dBFS:", flush=True)
    for i, limit in limited:
        print(f"  generated_{i:02d}.wav: {limit.gain_db:+.2f} dB ({limit.limited_by}; RMS {limit.rms_dbfs_in:.2f} -> "
              f"{limit.rms_dbfs_out:.2f} dBFS, peak {limit.peak_dbfs_in:.2f} -> {limit.peak_dbfs_out:.2f} dBFS)", flush=True)


def parse_args(argv):
    """Parse and check the CLI arguments. Raises ParameterError for --num or --steps below 1."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"trained model folder (default {DEFAULT_MODEL})")
    parser.add_argument("--num", type=int, default=4, help="clips to generate and to compare with (default 4)")
    parser.add_argument("--steps", type=int, default=None, help="DDIM steps (default: the model's sampling_steps)")
    parser.add_argument("--seed", type=int, default=0, help="sample i uses seed SEED+i (default 0)")
    parser.add_argument("--out", default=None, help="output folder (default outputs/<model folder name>)")
    parser.add_argument("--data", default=None, help="preprocessed dataset for the originals (default: the model's data_dir)")
    add_precision_argument(parser)
    parser.add_argument("--griffin-lim-iters", type=int, default=None,
                        help=f"Griffin-Lim iterations (default: the run's griffin_lim_iters, else "
                             f"{GRIFFIN_LIM_ITERATIONS}; unused by exact inverses)")
    parser.add_argument("--label", default=None,
                        help="class-conditional DDIM: the class to sample (e.g. minor); default unconditional")
    parser.add_argument("--prompt", default=None,
                        help="text-conditional DDIM: the text prompt (e.g. 'a Bach chorale in G minor'); default unconditional")
    parser.add_argument("--guidance-scale", type=float, default=None,
                        help="classifier-free guidance with --label or --prompt: 0 unconditional, 1 conditional, >1 stronger "
                             "(default: the run's guidance_scale)")
    parser.add_argument("--guidance-rescale", type=float, default=None,
                        help="with --label or --prompt, in [0, 1]: pull the guided output's spread back to the conditional "
                             "one's (Lin et al. 2024; default: the run's guidance_rescale, 0 for older runs)")
    add_guidance_interval_argument(parser)
    parser.add_argument("--clip-sample", default=None, action=argparse.BooleanOptionalAction,
                        help="DDIM runs: clip every step's x0 estimate to the data's range (static thresholding; "
                             "default: the run's clip_sample, off for older runs)")
    parser.add_argument("--sampler", default=None,
                        help="DDIM runs: ddim or dpm++2m (DPM-Solver++(2M), Lu et al. 2022) (default: the run's sampler, ddim)")
    parser.add_argument("--candidates", type=int, default=None,
                        help="score-roll DDIM runs: draw each sample this many times and keep the one the critic "
                             "(--critic) prefers (generate.rule_critic; default: the run's sampling_candidates, 1 for "
                             "older runs)")
    parser.add_argument("--critic", default=None, choices=SAMPLING_CRITICS,
                        help="with --candidates K > 1: rules (generate.rule_critic) or learned (the run's critic.json, "
                             "generate.learned_critic) (default: the run's sampling_critic, rules for older runs)")
    parser.add_argument("--key", default=None,
                        help="score-roll runs trained with key normalisation: the key samples are written in, e.g. "
                             "'D minor', 'Bb major' or G (default: keys drawn from the training data, by seed)")
    parser.add_argument("--harmonise", default=None, metavar="MELODY",
                        help="score-roll DDIM runs: harmonise a melody, a MIDI file or test:N (the soprano of the test "
                             "split's N-th chorale), instead of sampling (generate.harmonise)")
    parser.add_argument("--part", default=None, help="with --harmonise: the melody's part in the MIDI file (name or index)")
    parser.add_argument("--fill-bars", type=int, nargs=2, default=None, metavar=("START", "N"),
                        help="score-roll DDIM runs: regenerate bars START..START+N-1 (0-based) of --piece, keeping the "
                             "rest, instead of sampling (generate.bar_span)")
    parser.add_argument("--piece", default=None, help="with --fill-bars: a MIDI file, or test:N (the test split's N-th chorale)")
    parser.add_argument("--resample", type=int, default=2,
                        help="with --harmonise or --fill-bars: RePaint resampling rounds per step (default 2)")
    args = parser.parse_args(argv)
    if args.num < 1:
        raise ParameterError(f"--num must be >= 1. Received: num={args.num}")
    if args.steps is not None and args.steps < 1:
        raise ParameterError(f"--steps must be >= 1. Received: steps={args.steps}")
    if args.resample < 1:
        raise ParameterError(f"--resample must be >= 1. Received: resample={args.resample}")
    return args


def sample_batch(model, args, originals):
    """The warm-up on one sample, then the batch: ``--num`` spectrograms and their audio.

    Returns:
        dict: ``seeds``, ``steps`` (DDIM; else None), ``generated`` (float32 normalised
        spectrograms ``(num, n_freq_bins, n_frames)``), ``transpositions`` (semitones each is
        written in, `generate.written_key.sample_transpositions`), ``audio`` (list of float32 clips),
        ``limits`` (the limiter's `ClipLimit` of each), and the wall times in seconds
        ``warmup_s``, ``model_s``, ``inversion_s``.
    """
    kind, sound_generator = model.kind, model.sound_generator
    options = model.sampling_options(args.steps, args.sampler, args.guidance_scale, args.guidance_rescale,
                                     args.clip_sample, conditioned=args.label is not None or args.prompt is not None,
                                     guidance_interval=args.guidance_interval, candidates=args.candidates,
                                     critic=args.critic)
    steps = options.get("steps")
    seeds = [args.seed + i for i in range(args.num)] if kind in ("ddim", "vae") else list(range(args.num))
    transpositions = sample_transpositions(sound_generator.transform, seeds, args.key, model.data_dir)
    conditions = dict(label=args.label, guidance_scale=args.guidance_scale, prompt=args.prompt, sampler=args.sampler,
                      guidance_rescale=args.guidance_rescale, clip_sample=args.clip_sample,
                      guidance_interval=args.guidance_interval, candidates=args.candidates, critic=args.critic)
    start = time.monotonic()
    warm = model.warm_up(seeds=seeds, originals=originals, **conditions)
    sound_generator.warm_up(originals[0] if len(originals) else warm[0])
    warmup_s = time.monotonic() - start
    start = time.monotonic()
    generated = model.spectrograms(seeds=seeds, steps=steps, originals=originals, **conditions)
    model_s = time.monotonic() - start
    start = time.monotonic()
    audio, limits = sound_generator.generate(generated, seeds=seeds, return_limits=True, transpositions=transpositions)
    inversion_s = time.monotonic() - start
    return {"seeds": seeds, "steps": steps, "options": options, "generated": generated,
            "transpositions": transpositions, "audio": audio, "limits": limits,
            "warmup_s": warmup_s, "model_s": model_s, "inversion_s": inversion_s}


def write_clips(out_dir, rows, batch, originals, sound_generator):
    """Write ``generated_XX.wav`` and ``original_XX.wav`` (piano rolls: their ``.mid`` too).

    The originals are read from their source audio, or (piano rolls) rendered from their rolls,
    a key-normalised roll moved back to its piece's key (minus its manifest ``transposition``); the
    generated clips are written with ``batch["transpositions"]``.

    Returns:
        ``(generated_values, original_values, original_audio)``: the spectrograms denormalised
        (the representation's own scale) and the originals' audio, float32 clips.
    """
    from preprocessing.loader import Loader

    transform = sound_generator.transform
    sample_rate = transform.sample_rate
    generated_values = [sound_generator.codec.denormalise(s) for s in batch["generated"]]
    original_values = [sound_generator.codec.denormalise(s) for s in originals]
    midi = transform.input_kind == MIDI  # a piano roll: MIDI files too, and the originals are rendered
    original_audio = []
    for i, clip in enumerate(batch["audio"]):
        write_wav(out_dir / f"generated_{i:02d}.wav", clip, sample_rate)
        if midi:
            transform.write_midi(generated_values[i], out_dir / f"generated_{i:02d}.mid",
                                 **written(batch["transpositions"][i]))
        if i >= len(rows):  # sampled without originals (`originals_for`)
            continue
        row = rows[i]
        if midi:
            in_own_key = own_key(row)  # a key-normalised clip back in its piece's key
            transform.write_midi(original_values[i], out_dir / f"original_{i:02d}.mid", **in_own_key)
            original = sound_generator.spectrogram_to_audio(originals[i], **in_own_key)
        else:
            source = Path(row["source_path"])
            original = Loader(sample_rate, offset_s=row["offset_s"], duration_s=row["duration_s"]).load(source)
        write_wav(out_dir / f"original_{i:02d}.wav", original, sample_rate)
        original_audio.append(original)
    return generated_values, original_values, original_audio


SAMPLER_NAMES = {"ddim": "DDIM", "dpm++2m": "DPM-Solver++(2M)"}
CRITIC_TITLES = {"rules": "rules", "learned": "learned critic"}


def figure_title(args, kind, model_dir, options):
    """The comparison figure's title: the model, its condition and how it sampled (``options``: as
    `generate.trained_model.TrainedModel.sampling_options` returns, empty for an autoencoder or a VAE)."""
    sampled = ""
    if options:
        sampler = SAMPLER_NAMES.get(options["sampler"], options["sampler"])
        sampled = f", {options['steps']} {sampler} steps" + (", static thresholding" if options["clip_sample"] else "") + (
            f", best of {options['candidates']} by the {CRITIC_TITLES[options['critic']]}"
            if options["candidates"] > 1 else "")
    return f"{kind} {model_dir.name}" + (f", label {args.label}" if args.label else "") + (
        f", prompt {args.prompt!r}" if args.prompt else "") + (
        sampled or (", samples" if kind == "vae" else ", reconstructions of the test clips"))


def timing_report(load_s, batch, audio_s):
    """``report.json``'s speed figures: the two real-time factors and ``timing`` (module docstring)."""
    model_s, inversion_s, warmup_s = batch["model_s"], batch["inversion_s"], batch["warmup_s"]
    cold_s = load_s + warmup_s + model_s + inversion_s
    return {
        "real_time_factor": round(audio_s / (model_s + inversion_s), 2),
        "cold_real_time_factor": round(audio_s / cold_s, 2),
        "timing": {
            "warm": {
                "includes": "the batch at steady state, after the warm-up: sampling (or reconstructing) and "
                            "inverting every clip",
                "model_seconds": round(model_s, 3),
                "inversion_seconds": round(inversion_s, 3),
                "seconds": round(model_s + inversion_s, 3),
            },
            "cold": {
                "includes": "what a first call in a fresh process costs: loading the model (the process's first "
                            "model also imports TensorFlow and Keras), the warm-up (the model on one sample, one DDIM "
                            "step: graph tracing; one clip inverted: the Griffin-Lim graph, librosa's numba functions, "
                            "the first time in the process), then the batch",
                "load_seconds": round(load_s, 3),
                "warmup_seconds": round(warmup_s, 3),
                "seconds": round(cold_s, 3),
            },
        },
    }


def build_report(args, model, rows, batch, original_audio, load_s):
    """The dict written to ``report.json`` (module docstring)."""
    kind, sound_generator = model.kind, model.sound_generator
    sample_rate = sound_generator.transform.sample_rate
    audio_s = sum(len(a) for a in batch["audio"]) / sample_rate
    return {
        "model_dir": str(model.model_dir),
        "kind": kind,
        "num": args.num,
        "diffusion_steps": batch["steps"],
        "label": args.label,
        "prompt": args.prompt,
        "guidance_scale": batch["options"].get("guidance_scale"),  # as sampled: the run's values where none was given
        "guidance_rescale": batch["options"].get("guidance_rescale"),
        "guidance_interval": batch["options"].get("guidance_interval"),
        "clip_sample": batch["options"].get("clip_sample"),
        "sampler": batch["options"].get("sampler"),
        "candidates": batch["options"].get("candidates"),  # samples drawn per seed, the one the critic prefers kept
        "critic": batch["options"].get("critic") if (batch["options"].get("candidates") or 1) > 1 else None,
        "seeds": batch["seeds"],
        "key": args.key,
        "transpositions": batch["transpositions"],  # semitones each generated clip is written in (0: as sampled)
        "griffin_lim_iters": model.n_iter,
        "precision": model.precision,
        "audio_seconds": round(audio_s, 3),
        **timing_report(load_s, batch, audio_s),
        "loudness": {
            **sound_generator.limiter.describe(),
            "clips": [{"file": f"generated_{i:02d}.wav", **limit.as_dict()} for i, limit in enumerate(batch["limits"])],
        },
        "statistics": {
            "generated": mean_statistics(batch["audio"], sample_rate),
            "original": mean_statistics(original_audio, sample_rate) if original_audio else None,
        },
        "originals": [{"clip_id": r["clip_id"], "source_path": r["source_path"], "offset_s": r["offset_s"],
                       "transposition": r.get("transposition")} for r in rows],
    }


def print_summary(args, out_dir, model, batch, report, load_s):
    """What was written, the warm and cold speeds, the limited clips and the descriptors' table."""
    sound_generator = model.sound_generator
    midi = sound_generator.transform.input_kind == MIDI
    model_s, inversion_s, warmup_s = batch["model_s"], batch["inversion_s"], batch["warmup_s"]
    audio_s = sum(len(a) for a in batch["audio"]) / sound_generator.transform.sample_rate
    cold_s = load_s + warmup_s + model_s + inversion_s
    print(
        f"Wrote {args.num} generated and {len(report['originals'])} original clips to {out_dir}/ "
        f"(generated_XX.wav, original_XX.wav{', .mid' if midi else ''}, comparison.png, report.json).\n"
        f"{audio_s:.1f} s of audio. Warm (the batch at steady state): {model_s:.2f} s ({model.kind}) + {inversion_s:.2f} s "
        f"({sound_generator.inverse_name()}), {report['real_time_factor']}x real time. "
        f"Cold (loading {load_s:.2f} s + warm-up {warmup_s:.2f} s + the batch): "
        f"{cold_s:.2f} s, {report['cold_real_time_factor']}x real time.",
        flush=True,
    )
    print_limits(sound_generator.limiter, batch["limits"])
    print(f"{'mean over clips':<22}" + "".join(f"{key:>22}" for key in report["statistics"]["generated"]))
    for name, values in report["statistics"].items():
        if values is not None:
            print(f"{name:<22}" + "".join(f"{value:>22.3f}" for value in values.values()))


def run(args):
    """Generate, write and report; returns the report dict."""
    # Timed in three parts (module docstring): loading, a warm-up on one sample that pays the one-time
    # costs (graph tracing, librosa's numba functions), then the batch, which runs at steady state.
    start = time.monotonic()
    # the run, opened once: the process's first model also imports TensorFlow and Keras
    model = TrainedModel(args.model, n_iter=args.griffin_lim_iters, data_dir=args.data, precision=args.precision)
    load_s = time.monotonic() - start
    if args.harmonise is not None and args.fill_bars is not None:
        raise ParameterError("Give --harmonise or --fill-bars, not both. Received: both")
    if args.key is not None and (args.harmonise is not None or args.fill_bars is not None):
        raise ParameterError(f"--key is for free samples: --harmonise and --fill-bars write in the key of what they are "
                             f"given. Received: key={args.key!r}")
    if args.harmonise is not None:
        from generate import harmonise

        return harmonise.run(args, model, load_s)
    if args.fill_bars is not None:
        from generate import bar_span

        return bar_span.run(args, model, load_s)
    sound_generator = model.sound_generator
    out_dir = Path(args.out or Path("outputs") / model.model_dir.name)
    rows, originals = originals_for(args, model)
    batch = sample_batch(model, args, originals)
    generated_values, original_values, original_audio = write_clips(out_dir, rows, batch, originals, sound_generator)
    plot_comparison(generated_values, original_values, sound_generator.transform, out_dir / "comparison.png",
                    figure_title(args, model.kind, model.model_dir, batch["options"]))
    report = build_report(args, model, rows, batch, original_audio, load_s)
    atomic_write_json(out_dir / "report.json", report)
    print_summary(args, out_dir, model, batch, report, load_s)
    print(f"Listen: {write_sounds_page(out_dir, report, batch['audio'], original_audio, sound_generator.transform.sample_rate)}")
    return report


def main(argv=None):
    """CLI entry point; returns the exit status (0 success, 2 bad model folder or argument).

    A first argument naming a long-form mode (``long``, ``continue``, ``inpaint``, ``loop``,
    ``interpolate``, ``crossfade``) runs `generate.long_form_cli` instead; anything else is parsed as before.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in LONG_FORM_MODES:
        from generate import long_form_cli

        return long_form_cli.main(argv)
    return exit_status(lambda: run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
