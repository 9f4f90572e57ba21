"""Score trained models against real music: FAD and KID on musicnn embeddings, with a floor and ceilings.

Usage:
    python -m generate.evaluate                                   # the default DDIM and autoencoder
    python -m generate.evaluate --model saved_models/chorales_ddim --num 100 --steps 20
    python -m generate.evaluate --model saved_models/my_run --reference path/to/real/music

The real clips are the held-out clips of the model's dataset (the validation
and test splits, neither trained on: ``--splits``), read from the original
audio files named in its manifest, or ``--reference``: every audio file in a
folder, cut into clips of the model's length. They are shuffled (``--seed``)
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

Memorisation (`evaluation.memorisation`): every model's clips and half B are
also measured by their distance to the nearest *training* clip in the same
embedding (the training split of the dataset, ``--train-clips`` of them, spread
over it; 0 skips the check, as does ``--reference``). A model that copies its
training data sits closer to it than half B (unseen music) does: the table
gives each set's median distance, the ratio to half B's, the share of clips
nearer than 95% of half B's (5% expected by chance) and a one-sided
Mann-Whitney p-value; ``memorisation.png`` shows the distributions.

Writes ``evaluation.json`` (settings, rows, timings) into ``--out`` and prints
the table. Exit status 0, or 2 for a bad argument, model folder or file.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from common.atomic import atomic_write_json
from common.cli import exit_status
from common.errors import ParameterError
from evaluation.compare import AudioSet, format_table, score_sets
from evaluation.degradations import add_white_noise, low_pass
from evaluation.spectrogram_metrics import spectrogram_mse, spectrogram_ssim
from generate.audio_statistics import mean_statistics
from generate.trained_model import TrainedModel
from preprocessing.dataset_folder import DatasetFolder
from preprocessing.transform import GRIFFIN_LIM_ITERATIONS, MIDI

DEFAULT_MODELS = ("saved_models/chorales_ddim", "saved_models/chorales_autoencoder")
MIN_HELD_OUT_FOR_MEMORISATION = 20  # evaluation.memorisation's copy threshold is a quantile of half B


def _fit_length(audio, n_samples):
    audio = np.asarray(audio, dtype=np.float32)[:n_samples]
    return np.pad(audio, (0, n_samples - audio.shape[0]))


def dataset_clips(data_dir, splits, clip_samples, sample_rate, rows=None):
    """Original audio of the dataset's clips in ``splits`` (or of the manifest ``rows`` given), each
    ``(clip_samples,)`` float32.

    Raises:
        ParameterError: if the manifest is missing, has no clip in those splits, or names
            an audio file that cannot be read (the message names it).
    """
    from preprocessing.loader import Loader

    data = DatasetFolder(data_dir)
    if not data.manifest_path.is_file():
        raise ParameterError(
            "The real clips come from the model's dataset, which is not there: build it (bash scripts/demo.sh "
            f"does) or pass --data or --reference. Received: data_dir={str(data_dir)!r}"
        )
    if rows is None:
        rows = [row for row in data.rows if row["split"] in splits]
    if not rows:
        raise ParameterError(f"The dataset has no clips in splits {list(splits)}. Received: data_dir={str(data_dir)!r}")
    return [
        _fit_length(Loader(sample_rate, offset_s=row["offset_s"], duration_s=row["duration_s"]).load(row["source_path"]), clip_samples)
        for row in rows
    ]


def folder_clips(folder, clip_samples, sample_rate):
    """Non-overlapping clips of ``clip_samples`` from every audio file under ``folder``.

    A file that cannot be decoded is reported on stderr and skipped.

    Raises:
        ParameterError: if the folder has no audio file, or no file gives a whole clip.
    """
    from preprocessing.loader import Loader
    from preprocessing.sources import discover_sources

    loader = Loader(sample_rate)
    clips = []
    for record in discover_sources("folder", folder, validation_fraction=0.0, test_fraction=0.0):
        try:
            audio = loader.load(record.path)
        except ParameterError as err:
            print(f"skipped: {err}", file=sys.stderr)
            continue
        clips.extend(audio[start : start + clip_samples] for start in range(0, len(audio) - clip_samples + 1, clip_samples))
    if not clips:
        raise ParameterError(f"No audio file under the folder holds a whole clip ({clip_samples} samples). Received: reference={str(folder)!r}")
    return clips


def halves(clips, num, seed):
    """Two disjoint sets of ``min(num, len(clips) // 2)`` clips, in a seeded random order.

    Raises:
        ParameterError: if that is fewer than 2 clips per half.
    """
    order = np.random.default_rng(seed).permutation(len(clips))
    n = min(int(num), len(clips) // 2) if num else len(clips) // 2
    if n < 2:
        raise ParameterError(f"Need at least 4 real clips (2 per half). Received: clips={len(clips)}, num={num}")
    return [clips[i] for i in order[:n]], [clips[i] for i in order[n : 2 * n]]


def paired_spectrogram_metrics(predictions, targets):
    """Mean SSIM and MSE of normalised spectrograms ``(batch, n_freq_bins, n_frames)`` against their pairs."""
    return {
        "ssim": round(float(np.mean(spectrogram_ssim(predictions, targets))), 4),
        "mse": round(float(np.mean(spectrogram_mse(predictions, targets))), 5),
    }


def spread_rows(rows, count):
    """``count`` of ``rows`` at evenly spaced positions (all of them when there are fewer)."""
    if count >= len(rows):
        return list(rows)
    return [rows[i] for i in np.linspace(0, len(rows) - 1, count).round().astype(int)]


def memorisation_rows(data_dir, train_clips, clip_samples, sample_rate, embedder, embeddings, sets, out_dir):
    """The memorisation check of every model set and of half B (the module docstring), and its plot.

    Args:
        data_dir: the dataset whose train split is compared with.
        train_clips: int >= 1, training clips to embed, spread over the split.
        clip_samples, sample_rate: the clips' length (samples) and rate (Hz).
        embedder: the `MusicnnEmbedder` the sets were scored with.
        embeddings: set name -> embeddings, from `evaluation.compare.score_sets`.
        sets: the scored `AudioSet` list (half B is the one with role "floor").
        out_dir: folder for ``memorisation.png``.
    Returns:
        dict: ``n_train``, ``train_embed_seconds``, ``rows`` (name, role and
        `evaluation.memorisation.memorisation_report` without the raw distances, per set
        other than half B, which is their reference), ``table`` (text), ``plot`` (path).
    """
    from evaluation.memorisation import memorisation_report
    from generate.plots import plot_memorisation

    held_out = next(audio_set for audio_set in sets if audio_set.role == "floor")
    if len(held_out.clips) < MIN_HELD_OUT_FOR_MEMORISATION:
        note = (f"Memorisation: not checked, half B has {len(held_out.clips)} clips "
                f"(the copy threshold needs at least {MIN_HELD_OUT_FOR_MEMORISATION})")
        return {"skipped": note, "rows": [], "table": note, "plot": None}
    start = time.monotonic()
    train_rows = spread_rows(DatasetFolder(data_dir).split_rows("train"), train_clips)
    train = dataset_clips(data_dir, ["train"], clip_samples, sample_rate, rows=train_rows)
    train_embeddings = embedder.embed(train, sample_rate)
    embed_s = time.monotonic() - start
    results, distances = [], {}
    for audio_set in sets:
        if audio_set.role != "model":
            continue
        report = memorisation_report(train_embeddings, embeddings[held_out.name], embeddings[audio_set.name])
        distances.setdefault(held_out.name, report["distances"]["heldout"])
        distances[audio_set.name] = report.pop("distances")["generated"]
        results.append({"name": audio_set.name, "role": audio_set.role, **report})
    lines = [
        f"Memorisation: distance of each clip to its nearest of {len(train)} training clips (musicnn embedding); "
        f"held-out = half B",
        f"{'set':<52} {'median':>8} {'held-out':>9} {'ratio':>6} {'near copies':>12} {'p (closer)':>11}",
    ]
    for row in results:
        lines.append(
            f"{row['name'][:52]:<52} {row['generated']['p50']:>8.2f} {row['heldout']['p50']:>9.2f} "
            f"{row['median_ratio']:>6.2f} {row['near_copies']:>5d} ({100 * row['near_copy_share']:>4.1f}%) "
            f"{row['mannwhitney_p']:>11.3g}"
        )
    plot = plot_memorisation(distances, out_dir / "memorisation.png") if results else None
    return {"n_train": len(train), "train_embed_seconds": round(embed_s, 2), "rows": results,
            "table": "\n".join(lines), "plot": None if plot is None else str(plot)}


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
    parser.add_argument("--data", default=None, help="dataset folder (default: the first model's data_dir)")
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
    parser.add_argument("--clip-sample", default=None, action=argparse.BooleanOptionalAction,
                        help="DDIM runs: clip every step's x0 estimate to the data's range (default: each run's clip_sample)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--griffin-lim-iters", type=int, default=GRIFFIN_LIM_ITERATIONS)
    parser.add_argument("--embedding", default="MSD_musicnn", help="musicnn checkpoint: MSD_musicnn or MTT_musicnn")
    parser.add_argument("--patch-seconds", type=float, default=3.0,
                        help="musicnn patch length (3 s is what it was trained on; clips must be at least this long)")
    parser.add_argument("--no-statistics", action="store_true", help="skip the audio descriptors (faster)")
    parser.add_argument("--train-clips", type=int, default=1000,
                        help="training clips the memorisation check compares with, spread over the train split "
                             "(default 1000; 0: no check)")
    parser.add_argument("--out", default="outputs/evaluation", help="folder for evaluation.json")
    args = parser.parse_args(argv)
    if args.num < 0:
        raise ParameterError(f"--num must be >= 0. Received: num={args.num}")
    if args.train_clips < 0:
        raise ParameterError(f"--train-clips must be >= 0. Received: train_clips={args.train_clips}")
    if args.steps is not None and args.steps < 1:
        raise ParameterError(f"--steps must be >= 1. Received: steps={args.steps}")
    return args


def run(args):
    """Build the sets, score them, print the table and write ``evaluation.json``; returns the report."""
    from evaluation.embeddings import MusicnnEmbedder

    models = [TrainedModel(path, n_iter=args.griffin_lim_iters) for path in args.model]
    generators = [model.sound_generator for model in models]
    first = generators[0].transform
    sample_rate, clip_samples = first.sample_rate, first.samples_for(models[0].data_shape[1])
    for model, generator in zip(models, generators):
        if generator.transform.input_kind == MIDI:
            raise ParameterError(
                f"Evaluation compares audio clips; this model's representation reads MIDI. Received: model={str(model.model_dir)!r}"
            )
        length = generator.transform.samples_for(model.data_shape[1])
        if (generator.transform.sample_rate, length) != (sample_rate, clip_samples):
            raise ParameterError(
                f"Models scored together must share sample rate and clip length ({sample_rate} Hz, {clip_samples} "
                f"samples). Received: {model.model_dir}: sample_rate={generator.transform.sample_rate}, clip_samples={length}"
            )

    if clip_samples / sample_rate < args.patch_seconds:
        raise ParameterError(
            f"The model's clips ({clip_samples / sample_rate:.3f} s) are shorter than one musicnn patch; "
            f"lower --patch-seconds. Received: patch_seconds={args.patch_seconds}"
        )
    start = time.monotonic()
    if args.reference:
        clips = folder_clips(args.reference, clip_samples, sample_rate)
        source = f"folder {args.reference}"
    else:
        data_dir = args.data or models[0].data_dir
        clips = dataset_clips(data_dir, args.splits, clip_samples, sample_rate)
        source = f"dataset {data_dir}, splits {', '.join(args.splits)}"
    reference, held_out = halves(clips, args.num, args.seed)
    n = len(reference)
    print(f"{len(clips)} real clips of {clip_samples / sample_rate:.3f} s from {source}; {n} per half "
          f"({time.monotonic() - start:.1f} s to load)", flush=True)

    cutoff_hz = 4000.0 if sample_rate > 8000 else sample_rate / 4  # 4 kHz unless that is Nyquist or above
    sets = [
        AudioSet("real, other half (floor)", held_out, sample_rate, "floor"),
        AudioSet("real + white noise 20 dB SNR", [add_white_noise(c, 20.0, seed=i) for i, c in enumerate(held_out)], sample_rate, "ceiling"),
        AudioSet(f"real, low-passed {cutoff_hz / 1000:g} kHz", [low_pass(c, sample_rate, cutoff_hz) for c in held_out],
                 sample_rate, "ceiling"),
    ]
    generator = generators[0]
    held_out_spectrograms = np.stack([generator.codec.encode(c) for c in held_out])
    start = time.monotonic()
    # the representation's own loss: not limited to the training level (generate() would be; model outputs are)
    inverted = [generator.spectrogram_to_audio(s, seed=i) for i, s in enumerate(held_out_spectrograms)]
    inversion_s = time.monotonic() - start
    inverted_spectrograms = np.stack([generator.codec.encode(c) for c in inverted])
    sets.append(AudioSet(
        f"real through the representation ({args.griffin_lim_iters} GL it.)", inverted, sample_rate, "ceiling",
        paired_spectrogram_metrics(inverted_spectrograms, held_out_spectrograms),
    ))

    seeds = [args.seed + i for i in range(n)]
    for model, generator in zip(models, generators):
        start = time.monotonic()
        conditions = dict(label=args.label, prompt=args.prompt, guidance_scale=args.guidance_scale,
                          guidance_rescale=args.guidance_rescale, clip_sample=args.clip_sample) if model.kind == "ddim" else {}
        spectrograms = model.spectrograms(seeds=seeds, steps=args.steps, originals=held_out_spectrograms,
                                          sampler=args.sampler if model.kind == "ddim" else None, **conditions)
        model_s = time.monotonic() - start
        start = time.monotonic()
        audio = generator.generate(spectrograms, seeds=seeds)
        generator_s = time.monotonic() - start
        extra = {"model_seconds": round(model_s, 2), "inversion_seconds": round(generator_s, 2),
                 "real_time_factor": round(n * clip_samples / sample_rate / (model_s + generator_s), 2)}
        if model.kind == "ddim":
            steps = args.steps or model.default_steps()
            sampler = args.sampler or model.default_sampler()
            condition = (f", label {args.label}" if args.label else f", prompt {args.prompt!r}" if args.prompt else "")
            name = (f"{model.model_dir.name} ({'latent ' if model.latent_decoder is not None else ''}"
                    f"{'DDIM' if sampler == 'ddim' else sampler}, {steps} steps{condition})")
            extra["sampler"] = sampler
            extra["diffusion_steps"] = steps
        elif model.kind == "vae":
            name = f"{model.model_dir.name} (VAE samples)"
        else:
            name = f"{model.model_dir.name} (reconstructions of half B)"
            extra.update(paired_spectrogram_metrics(spectrograms, held_out_spectrograms))
        sets.append(AudioSet(name, audio, sample_rate, "model", extra))
        print(f"{name}: {n} clips in {model_s:.1f} s + {generator_s:.1f} s Griffin-Lim", flush=True)

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
    if not args.no_statistics:
        for row, audio_set in zip(rows, sets):
            row.update(mean_statistics(audio_set.clips, sample_rate))
        reference_statistics = mean_statistics(reference, sample_rate)
    else:
        reference_statistics = None

    table = format_table(rows)
    print(table)
    if memorisation is not None:
        print(memorisation["table"])
    report = {
        "models": [str(m.model_dir) for m in models],
        "real_clips": source,
        "n_per_set": n,
        "clip_seconds": clip_samples / sample_rate,
        "sample_rate": sample_rate,
        "embedding": f"musicnn {args.embedding} penultimate layer (200-d), {args.patch_seconds:g} s patches at 16 kHz",
        "seed": args.seed,
        "griffin_lim_iters": args.griffin_lim_iters,
        "reference_statistics": reference_statistics,
        "inversion_seconds_half_b": round(inversion_s, 2),
        "scoring_seconds": round(score_s, 2),
        "rows": rows,
        "table": table,
        "memorisation": memorisation,
    }
    out = Path(args.out) / "evaluation.json"
    atomic_write_json(out, report)
    print(f"Wrote {out}")
    return report


def main(argv=None):
    """CLI entry point; returns the exit status (0 success, 2 bad argument, model folder or file)."""
    return exit_status(lambda: run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
