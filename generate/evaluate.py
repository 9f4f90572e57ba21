"""Score trained models against real music: FAD and KID on musicnn embeddings, with a floor and ceilings.

Usage:
    python -m generate.evaluate                                   # the default DDIM and autoencoder
    python -m generate.evaluate --model saved_models/chorales_ddim --num 100 --steps 20
    python -m generate.evaluate --model saved_models/my_run --reference path/to/real/music
    python -m generate.evaluate --model saved_models/chorales_ddim saved_models/chorales_score_roll_ddim

The real clips are the held-out clips of the first model's dataset (the validation
and test splits, neither trained on: ``--splits``), read from the original
audio files named in its manifest (a model on piano or score rolls: the held-out
rolls rendered by the data set's transform, the renderer its samples go through,
so there is no row through the representation; a key-normalised data set's rolls in their
pieces' own keys, and a key-normalised model's samples in keys drawn from its training data,
as ``generate.sounds`` writes them), or ``--reference``: every audio
file in a folder, cut into clips of the model's length. Models scored together share the
first model's sample rate; its clip length is every row's, and a later model with longer clips
is scored on the central part of each (the score-roll DDIM's 8 s samples, rendered, beside the
audio DDIM's 3.072 s clips: two representations of the chorales against one reference). They are shuffled (``--seed``)
and split into two disjoint halves of ``n`` clips (``--num`` caps n): half A is
the reference every row is scored against; half B gives the context rows:

* ``real, other half (floor)``: half B as it is, the best any model can score;
* ``real + white noise 20 dB SNR`` and ``real, low-passed 4 kHz`` (ceilings; at
  8 kHz or less, low-passed at a quarter of the sample rate);
* ``real through the representation``: half B turned into the model's
  spectrogram and back (Griffin-Lim), the ceiling the representation sets.

Then one row per ``--model``: ``n`` DDIM or VAE samples (seeds ``--seed`` ...),
or the autoencoder's reconstructions of half B, as `SoundGenerator.generate` makes
them (limited to the training clips' level, `generate.limiter`; the figures in
docs/EVALUATION.md were measured before the limiter existed). Rows whose clips pair with half B
also give spectrogram SSIM and MSE against half B's spectrograms. FAD needs
more clips per set than embedding dimensions (200); below that it is left out
and KID (unbiased) still reported. Every row has the sample count.

``--candidates K``: a score-roll DDIM's samples are each the best of K by the rules of part writing
(`generate.rule_critic`) or, with ``--critic learned``, by the run's learned critic
(`generate.learned_critic`; defaults: each run's ``sampling_candidates`` and ``sampling_critic``); other
models ignore both.

``--draws N`` samples each DDIM or VAE N times, on other seeds (draw d: seeds ``--seed`` +
`DRAW_SEED_STRIDE` * d ...), one row per draw against the same half A, and prints the mean and
standard deviation of the FAD and KID over the draws (``draws`` in ``evaluation.json``): how much of a
difference between two models the choice of sample seeds alone can make. At n = 258, the shipped
score-roll DDIM's FAD moves between 0.93 and 1.18 from one draw to the next (docs/MEASUREMENTS.md).
``--seed`` draws other halves as well.

Memorisation (`evaluation.memorisation`): every model's clips and half B are
also measured by their distance to the nearest *training* clip in the same
embedding (the training split of the dataset, ``--train-clips`` of them, spread
over it; 0 skips the check, as does ``--reference``). A model that copies its
training data sits closer to it than half B (unseen music) does: the table
gives each set's median distance, the ratio to half B's, the share of clips
nearer than 95% of half B's (5% expected by chance) and a one-sided
Mann-Whitney p-value; ``memorisation.png`` shows the distributions.

Writes ``evaluation.json`` (settings, each model's loudness limiter, rows, timings) into ``--out`` and prints
the table. It also writes ``index.html`` there, a listening page (`generate.listening_page`):
the settings, the score table with floor and ceilings, and beside each row players and
spectrograms of its first ``--listen`` clips (``clips/``). Exit status 0, or 2 for a bad argument, model folder or file.
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
from evaluation.compare import AudioSet, format_table, score_sets
from evaluation.memorisation import memorisation_rows
from evaluation.real_clips import context_sets, dataset_clips, folder_clips, halves
from evaluation.spectrogram_metrics import paired_spectrogram_metrics
from generate.listening_page import write_evaluation_page
from generate.trained_model import TrainedModel, add_guidance_interval_argument, add_precision_argument
from generate.written_key import sample_transpositions
from preprocessing.transform import GRIFFIN_LIM_ITERATIONS, MIDI
from train.config import SAMPLING_CRITICS

DEFAULT_MODELS = ("saved_models/chorales_ddim", "saved_models/chorales_autoencoder")


DRAW_SEED_STRIDE = 100_000  # draw d samples seeds --seed + d * DRAW_SEED_STRIDE + i (i < n): no seed in two draws


def parse_args(argv):
    """The CLI's arguments (see the module docstring).

    Raises:
        ParameterError: for ``--num`` < 0 or ``--steps`` < 1, naming the value.
    """
    parser = argparse.ArgumentParser(
        prog="python -m generate.evaluate", description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", nargs="+", default=list(DEFAULT_MODELS), help="run folder(s) to score")
    parser.add_argument("--data", default=None,
                        help="dataset folder of the real clips, the first model's (default: its data_dir); "
                             "later models sample with their own")
    parser.add_argument("--splits", nargs="+", default=["validation", "test"], help="held-out splits to draw real clips from")
    parser.add_argument("--reference", default=None, help="folder of real audio files instead of the dataset")
    parser.add_argument("--num", type=int, default=0, help="clips per half and per model (0: as many as the real clips allow)")
    parser.add_argument("--steps", type=int, default=None, help="DDIM steps (default: each run's sampling_steps)")
    parser.add_argument("--sampler", default=None,
                        help="DDIM runs: ddim or dpm++2m (DPM-Solver++(2M)) (default: each run's sampler, ddim)")
    parser.add_argument("--label", default=None, help="class-conditional runs: sample this class (default unconditional)")
    parser.add_argument("--prompt", default=None, help="text-conditional runs: sample this prompt (default unconditional)")
    parser.add_argument("--guidance-scale", type=float, default=None,
                        help="with --label or --prompt (default: each run's guidance_scale)")
    parser.add_argument("--guidance-rescale", type=float, default=None,
                        help="with --label or --prompt, in [0, 1] (default: each run's guidance_rescale)")
    add_guidance_interval_argument(parser)
    parser.add_argument("--clip-sample", default=None, action=argparse.BooleanOptionalAction,
                        help="DDIM runs: clip every step's x0 estimate to the data's range (default: each run's clip_sample)")
    parser.add_argument("--candidates", type=int, default=None,
                        help="score-roll DDIM runs: draw each sample this many times and keep the one the critic "
                             "(--critic) prefers (generate.rule_critic; default: each run's sampling_candidates, 1)")
    parser.add_argument("--critic", default=None, choices=SAMPLING_CRITICS,
                        help="with --candidates K > 1: rules or learned (the run's critic.json, generate.learned_critic; "
                             "default: each run's sampling_critic)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--draws", type=int, default=1,
                        help="DDIM and VAE runs: sample sets on other seeds, each scored against the same half A, "
                             "with the mean and spread of their FAD and KID (default 1)")
    add_precision_argument(parser)
    parser.add_argument("--griffin-lim-iters", type=int, default=None,
                        help=f"Griffin-Lim iterations (default: the run's griffin_lim_iters, else "
                             f"{GRIFFIN_LIM_ITERATIONS}; the representation row uses the first model's)")
    parser.add_argument("--embedding", default="MSD_musicnn", help="musicnn checkpoint: MSD_musicnn or MTT_musicnn")
    parser.add_argument("--patch-seconds", type=float, default=3.0,
                        help="musicnn patch length (3 s is what it was trained on; clips must be at least this long)")
    parser.add_argument("--no-statistics", action="store_true", help="skip the audio descriptors (faster)")
    parser.add_argument("--train-clips", type=int, default=1000,
                        help="training clips the memorisation check compares with, spread over the train split "
                             "(default 1000; 0: no check)")
    parser.add_argument("--out", default="outputs/evaluation", help="folder for evaluation.json and index.html")
    parser.add_argument("--listen", type=int, default=3, help="clips of each set on the listening page (default 3)")
    args = parser.parse_args(argv)
    if args.listen < 1:
        raise ParameterError(f"--listen must be >= 1. Received: listen={args.listen}")
    if args.num < 0:
        raise ParameterError(f"--num must be >= 0. Received: num={args.num}")
    if args.train_clips < 0:
        raise ParameterError(f"--train-clips must be >= 0. Received: train_clips={args.train_clips}")
    if args.draws < 1:
        raise ParameterError(f"--draws must be >= 1. Received: draws={args.draws}")
    if args.num > DRAW_SEED_STRIDE:
        raise ParameterError(f"--num must be <= {DRAW_SEED_STRIDE} (the seeds of one draw). Received: num={args.num}")
    if args.steps is not None and args.steps < 1:
        raise ParameterError(f"--steps must be >= 1. Received: steps={args.steps}")
    return args


def clip_format(models, patch_seconds):
    """The sample rate (Hz) every model shares and the clip length (samples) of the first model.

    The first model's clips set the real clips' length. A later model whose clips are longer (the
    score-roll DDIM's 8 s beside the audio DDIM's 3.072 s) is scored on the central ``clip_samples`` of
    each of its samples (`model_set`), so that models of different representations are compared
    against one reference.

    Raises:
        ParameterError: for models whose rate differs from the first's, a later model whose clips are
            shorter than the first's, or clips shorter than one musicnn patch of ``patch_seconds``.
    """
    transforms = [model.sound_generator.transform for model in models]  # every run's codec read first
    sample_rate, clip_samples = transforms[0].sample_rate, models[0].clip_samples
    for model, transform in zip(models, transforms):
        length = model.clip_samples
        if transform.sample_rate != sample_rate or length < clip_samples:
            raise ParameterError(
                f"Models scored together must share the first model's sample rate ({sample_rate} Hz) and have clips at "
                f"least as long as its {clip_samples} samples (longer ones are cut to them; put the model with the "
                f"shortest clips first). Received: {model.model_dir}: sample_rate={transform.sample_rate}, "
                f"clip_samples={length}"
            )
    if clip_samples / sample_rate < patch_seconds:
        raise ParameterError(
            f"The model's clips ({clip_samples / sample_rate:.3f} s) are shorter than one musicnn patch; "
            f"lower --patch-seconds. Received: patch_seconds={patch_seconds}"
        )
    return sample_rate, clip_samples


def real_halves(args, first_model, clip_samples, sample_rate):
    """Read the real clips (``--reference`` or the data set's ``--splits``) and split them in two.

    Returns:
        ``(half_a, half_b, source, data_dir)``: the two halves, a line that says where the
        clips come from, and the data set folder (None for ``--reference``).
    Raises:
        ParameterError: from `evaluation.real_clips` (no data set, no clip, too few clips).
    """
    start = time.monotonic()
    data_dir = None
    if args.reference:
        clips = folder_clips(args.reference, clip_samples, sample_rate)
        source = f"folder {args.reference}"
    else:
        data_dir = first_model.data_dir  # --data, else the model's
        clips = dataset_clips(data_dir, args.splits, clip_samples, sample_rate)
        source = f"dataset {data_dir}, splits {', '.join(args.splits)}"
    reference, held_out = halves(clips, args.num, args.seed)
    print(f"{len(clips)} real clips of {clip_samples / sample_rate:.3f} s from {source}; {len(reference)} per half "
          f"({time.monotonic() - start:.1f} s to load)", flush=True)
    return reference, held_out, source, data_dir


def representation_set(generator, held_out, griffin_lim_iters):
    """Half B through the representation and back: the ceiling the representation sets.

    Returns:
        ``(audio_set, held_out_spectrograms, seconds)``: the `AudioSet` (with its paired
        spectrogram SSIM and MSE), half B's normalised spectrograms ``(n, n_freq_bins, n_frames)``
        and the inversion's wall time in seconds.
    """
    held_out_spectrograms = np.stack([generator.codec.encode(c) for c in held_out])
    start = time.monotonic()
    # the representation's own loss: not limited to the training level (generate() would be; model outputs are)
    inverted = [generator.spectrogram_to_audio(s, seed=i) for i, s in enumerate(held_out_spectrograms)]
    inversion_s = time.monotonic() - start
    inverted_spectrograms = np.stack([generator.codec.encode(c) for c in inverted])
    audio_set = AudioSet(
        f"real through the representation ({griffin_lim_iters} GL it.)", inverted, generator.transform.sample_rate,
        "ceiling", paired_spectrogram_metrics(inverted_spectrograms, held_out_spectrograms),
    )
    return audio_set, held_out_spectrograms, inversion_s


def central_part(clip, length):
    """The central ``length`` samples of ``clip`` (1-D audio): ``clip[offset : offset + length]`` with
    ``offset = (len(clip) - length) // 2``, so an odd surplus leaves one sample more at the end.

    Raises:
        ParameterError: if ``length`` is not in [1, len(clip)].
    """
    if not 1 <= length <= len(clip):
        raise ParameterError(f"length must be in [1, {len(clip)}] (the clip's samples). Received: length={length}")
    offset = (len(clip) - length) // 2
    return clip[offset : offset + length]


def model_set(model, args, seeds, held_out_spectrograms, clip_samples, draw=None):
    """One model's clips: DDIM or VAE samples of ``seeds``, or the autoencoder's reconstructions of half B.

    A model whose clips are longer than ``clip_samples`` (the first model's, `clip_format`) is scored
    on the central ``clip_samples`` of each, away from the clip's edges: a rendered roll starts from
    silence and ends where its notes are cut, which real clips cut from whole pieces rarely do (the
    chorales' held-out rolls rendered: FAD 2.02 on their first 3.072 s, 0.62 on their central 3.072 s,
    against the audio data set's held-out clips; docs/MEASUREMENTS.md). Its real-time factor counts
    the whole clips it made.

    ``draw``: None, or ``(d, draws)``: the set is draw d (from 0) of ``draws`` (``--draws``), named so,
    with ``draw`` and ``model_dir`` among its extra columns.

    Returns:
        The `AudioSet` (role "model"), with timings, the sampler and steps (DDIM) or paired
        spectrogram metrics (autoencoder) as extra columns; prints one line.
    """
    generator = model.sound_generator
    sample_rate = generator.transform.sample_rate
    model_samples = model.clip_samples
    start = time.monotonic()
    conditions = dict(label=args.label, prompt=args.prompt, guidance_scale=args.guidance_scale,
                      guidance_rescale=args.guidance_rescale, clip_sample=args.clip_sample,
                      guidance_interval=args.guidance_interval) if model.kind == "ddim" else {}
    # --candidates and --critic: score-roll models' samples only
    rolls = model.samples_score_rolls
    options = model.sampling_options(candidates=args.candidates if rolls else None, critic=args.critic if rolls else None)
    candidates, critic = options.get("candidates", 1), options.get("critic")
    if model.kind == "ddim":
        conditions.update(candidates=candidates, critic=critic)
    spectrograms = model.spectrograms(seeds=seeds, steps=args.steps, originals=held_out_spectrograms,
                                      sampler=args.sampler if model.kind == "ddim" else None, **conditions)
    model_s = time.monotonic() - start
    start = time.monotonic()
    # a key-normalised roll model's samples in keys drawn from its training data, as its real clips are in theirs
    transpositions = sample_transpositions(generator.transform, seeds, data_dir=model.data_dir)
    audio = generator.generate(spectrograms, seeds=seeds, transpositions=transpositions)
    generator_s = time.monotonic() - start
    extra = {"model_seconds": round(model_s, 2), "inversion_seconds": round(generator_s, 2),
             "real_time_factor": round(len(seeds) * model_samples / sample_rate / (model_s + generator_s), 2)}
    if model_samples > clip_samples:  # scored on the first model's clip length (`clip_format`)
        audio = [central_part(clip, clip_samples) for clip in audio]
        extra["cut_from_seconds"] = round(model_samples / sample_rate, 3)
    if any(transpositions):
        extra["transpositions"] = transpositions  # semitones each sample was written in (`generate.written_key`)
    if model.kind == "ddim":
        steps = args.steps or model.default_steps()
        sampler = args.sampler or model.default_sampler()
        condition = (f", label {args.label}" if args.label else f", prompt {args.prompt!r}" if args.prompt else "")
        name = (f"{model.model_dir.name} ({'latent ' if model.latent_decoder is not None else ''}"
                f"{'DDIM' if sampler == 'ddim' else sampler}, {steps} steps{condition}"
                f"{f', best of {candidates}' if candidates > 1 else ''}"
                f"{' by the learned critic' if candidates > 1 and critic == 'learned' else ''})")
        extra["sampler"] = sampler
        extra["diffusion_steps"] = steps
        extra["candidates"] = candidates
        extra["critic"] = critic if candidates > 1 else None  # which critic chose (None: plain samples)
        if args.label or args.prompt:  # the guidance as sampled: the run's values where none was given
            options = model.sampling_options(args.steps, args.sampler, args.guidance_scale, args.guidance_rescale,
                                             args.clip_sample, conditioned=True, guidance_interval=args.guidance_interval)
            extra.update({key: options[key] for key in ("guidance_scale", "guidance_rescale", "guidance_interval")})
    elif model.kind == "vae":
        name = f"{model.model_dir.name} (VAE samples)"
    else:
        name = f"{model.model_dir.name} (reconstructions of half B)"
        extra.update(paired_spectrogram_metrics(spectrograms, held_out_spectrograms))
    if draw is not None:
        name += f", draw {draw[0] + 1} of {draw[1]}"
        extra.update(draw=draw[0], model_dir=str(model.model_dir), first_seed=int(seeds[0]))
    cut = f", scored on their central {clip_samples / sample_rate:.3f} s" if model_samples > clip_samples else ""
    print(f"{name}: {len(seeds)} clips in {model_s:.1f} s + {generator_s:.1f} s {generator.inverse_name()}{cut}", flush=True)
    return AudioSet(name, audio, sample_rate, "model", extra)


def score(args, reference, sets, data_dir, clip_samples, sample_rate):
    """FAD and KID of every set against half A, the memorisation check and the audio descriptors.

    Returns:
        ``(rows, memorisation, reference_statistics, seconds)``: the scored rows (with the
        descriptors' means unless ``--no-statistics``), `evaluation.memorisation.memorisation_rows`
        (None with ``--reference`` or ``--train-clips 0``), half A's descriptors (None with
        ``--no-statistics``), and the embedding and scoring wall time in seconds.
    """
    from evaluation.embeddings import MusicnnEmbedder

    start = time.monotonic()
    embedder = MusicnnEmbedder(args.embedding, patch_seconds=args.patch_seconds)
    reference_set = AudioSet("real, half A (reference)", reference, sample_rate, "reference")
    embeddings = {}
    rows = score_sets(reference_set, sets, embedder, seed=args.seed, embeddings_out=embeddings)
    score_s = time.monotonic() - start
    memorisation = None
    if args.train_clips and not args.reference:
        memorisation = memorisation_rows(
            data_dir, args.train_clips, clip_samples, sample_rate, embedder, embeddings, sets, Path(args.out)
        )
    reference_statistics = None
    if not args.no_statistics:
        for row, audio_set in zip(rows, sets):
            row.update(mean_statistics(audio_set.clips, sample_rate))
        reference_statistics = mean_statistics(reference, sample_rate)
    return rows, memorisation, reference_statistics, score_s


def draw_summary(rows):
    """The mean and spread over ``--draws`` of each model's FAD and KID.

    Args:
        rows: the scored rows (`score`); those of one model's draws carry ``model_dir`` and ``draw``.
    Returns:
        list of dicts, one per model with more than one draw: ``model_dir``, ``draws`` (int),
        ``fad_mean``, ``fad_std`` (sample standard deviation, ddof 1), ``fad_min``, ``fad_max`` (None where
        a draw has no FAD: too few clips), ``kid_mean``, ``kid_std`` and ``line`` (the text printed).
    """
    summaries = []
    for model_dir in dict.fromkeys(row["model_dir"] for row in rows if "draw" in row):
        draws = [row for row in rows if row.get("model_dir") == model_dir]
        fads = [row["fad"] for row in draws]
        kids = np.array([row["kid"] for row in draws], dtype=float)
        summary = {"model_dir": model_dir, "draws": len(draws), "kid_mean": float(kids.mean()),
                   "kid_std": float(kids.std(ddof=1))}
        if all(fad is not None for fad in fads):
            fads = np.array(fads, dtype=float)
            summary.update(fad_mean=float(fads.mean()), fad_std=float(fads.std(ddof=1)), fad_min=float(fads.min()),
                           fad_max=float(fads.max()))
            fad_text = (f"FAD {fads.mean():.3f} +- {fads.std(ddof=1):.3f} (sd; {fads.min():.3f}-{fads.max():.3f}), ")
        else:
            summary.update(fad_mean=None, fad_std=None, fad_min=None, fad_max=None)
            fad_text = "FAD - (too few clips), "
        summary["line"] = (f"{Path(model_dir).name} over {len(draws)} draws of sample seeds: {fad_text}"
                           f"KID {kids.mean():.4f} +- {kids.std(ddof=1):.4f} (sd)")
        summaries.append(summary)
    return summaries


def run(args):
    """Build the sets, score them, print the table and write ``evaluation.json``; returns the report."""
    # --data is the real clips' data set, the first model's; a later model samples with its own (its key draws, its level)
    models = [TrainedModel(path, n_iter=args.griffin_lim_iters, data_dir=args.data if i == 0 else None,
                           precision=args.precision) for i, path in enumerate(args.model)]
    sample_rate, clip_samples = clip_format(models, args.patch_seconds)
    reference, held_out, source, data_dir = real_halves(args, models[0], clip_samples, sample_rate)
    sets = context_sets(held_out, sample_rate)
    held_out_spectrograms, inversion_s = None, 0.0
    if models[0].sound_generator.transform.input_kind != MIDI:  # a roll's real clips are its rendering already
        representation, held_out_spectrograms, inversion_s = representation_set(
            models[0].sound_generator, held_out, models[0].n_iter
        )
        sets.append(representation)
    for model in models:
        draws = args.draws if model.kind in ("ddim", "vae") else 1  # an autoencoder reconstructs half B: one set
        for draw in range(draws):
            seeds = [args.seed + draw * DRAW_SEED_STRIDE + i for i in range(len(reference))]
            sets.append(model_set(model, args, seeds, held_out_spectrograms, clip_samples,
                                  (draw, draws) if draws > 1 else None))
    rows, memorisation, reference_statistics, score_s = score(args, reference, sets, data_dir, clip_samples, sample_rate)

    table = format_table(rows)
    print(table)
    draws = draw_summary(rows)
    for summary in draws:
        print(summary["line"])
    if memorisation is not None:
        print(memorisation["table"])
    report = {
        "models": [str(m.model_dir) for m in models],
        "real_clips": source,
        "n_per_set": len(reference),
        "clip_seconds": clip_samples / sample_rate,
        "sample_rate": sample_rate,
        "embedding": f"musicnn {args.embedding} penultimate layer (200-d), {args.patch_seconds:g} s patches at 16 kHz",
        "seed": args.seed,
        "griffin_lim_iters": {str(m.model_dir): m.n_iter for m in models},
        "precision": {str(m.model_dir): m.precision for m in models},
        "limiter": {str(m.model_dir): m.sound_generator.limiter.describe() for m in models},  # the level samples got
        "reference_statistics": reference_statistics,
        "inversion_seconds_half_b": round(inversion_s, 2),
        "scoring_seconds": round(score_s, 2),
        "rows": rows,
        "draws": draws,
        "table": table,
        "memorisation": memorisation,
    }
    out = Path(args.out) / "evaluation.json"
    atomic_write_json(out, report)
    page = write_evaluation_page(Path(args.out), report, reference, sets, sample_rate, args.listen)
    print(f"Wrote {out} and {page}")
    return report


def main(argv=None):
    """CLI entry point; returns the exit status (0 success, 2 bad argument, model folder or file)."""
    return exit_status(lambda: run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
