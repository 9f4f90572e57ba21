"""Preprocessing throughput: a plain serial librosa loop against `PreprocessingPipeline`, serial and parallel.

Usage:
    python -m benchmarks.preprocessing --input data/chorales --workers 1 2 4
    python -m benchmarks.preprocessing --input data/chorales --limit 60
    python -m benchmarks.preprocessing --input ~/music --set source=folder --set sample_rate=22050

On the same audio files (``--limit`` of the source's files, spread evenly over
its list; default all), it times:

    baseline   per file: ``librosa.load(path, sr=sample_rate)``,
               ``librosa.stft(n_fft=n_fft, hop_length=hop_length)``,
               ``librosa.amplitude_to_db`` of its magnitude, ``np.save``;
    pipeline   ``PreprocessingPipeline(config).run()`` with ``num_workers`` set to
               each ``--workers`` value: a whole dataset (clips, manifest, statistics).

Each writes into its own temporary folder (under ``--work-dir``), removed after.
The configuration is ``--config`` (default: the built-in one, the same as
``configs/chorales_stft.yaml``) with ``--set`` overrides; ``--input`` sets its
``input_dir``. It prints one row per method: files, audio seconds, wall
seconds, throughput in audio-seconds per wall-second (x real time), the
ratio to the baseline, and the peak RSS of the process tree while the method
ran (this process plus its workers, sampled every 0.25 s), then this
process's own peak RSS.

What is and is not timed: every file is read once beforehand, so all methods
read from the page cache; librosa is warmed up beforehand (its lazy imports
take about 2 s in a fresh process), so the baseline and the one-worker
pipeline, which run in this process, time steady-state work. The parallel
pipeline's time includes starting its workers, as every ``python -m
preprocessing.run`` pays (forked on Linux, so they start with librosa
imported: `preprocessing.pipeline.worker_context`).
"""

import dataclasses
import os
import tempfile
import time
from pathlib import Path

import librosa
import numpy as np
import soundfile as sf

from benchmarks.report import TreeRssSampler, add_json_argument, print_peak_rss, significant, write_results
from common.cli import config_from_args, config_parser, exit_status
from common.errors import ParameterError
from preprocessing.config import PreprocessConfig
from preprocessing.pipeline import PreprocessingPipeline
from preprocessing.sources import discover_sources


def spread(items, limit):
    """``limit`` items of ``items`` at evenly spaced positions (all when ``limit`` is None or too large).

    Raises:
        ParameterError: if ``limit`` < 1.
    """
    if limit is not None and limit < 1:
        raise ParameterError(f"--limit must be >= 1. Received: limit={limit}")
    if limit is None or limit >= len(items):
        return list(items)
    return [items[i] for i in np.unique(np.linspace(0, len(items) - 1, limit).round().astype(int))]


def baseline_loop(paths, output_dir, sample_rate, n_fft, hop_length):
    """The plain serial librosa loop: load, STFT, dB, ``np.save`` per file.

    Args:
        paths: audio files.
        output_dir: existing folder; ``<index>.npy`` is written per file, float32
            dB of shape ``(n_fft // 2 + 1, n_frames)``.
        sample_rate: Hz the audio is resampled to.
        n_fft, hop_length: samples.
    """
    for i, path in enumerate(paths):
        signal, _ = librosa.load(path, sr=sample_rate)
        spectrogram_db = librosa.amplitude_to_db(np.abs(librosa.stft(signal, n_fft=n_fft, hop_length=hop_length)))
        np.save(os.path.join(output_dir, f"{i:05d}.npy"), spectrogram_db)


def timed(job, *args):
    """Wall seconds ``job(*args)`` takes (``time.perf_counter``)."""
    start = time.perf_counter()
    job(*args)
    return time.perf_counter() - start


def measure(config, limit=None, workers=(1, 2, 4), work_dir=None):
    """Time the baseline and the pipeline on the same files.

    Args:
        config: a `PreprocessConfig`; its source and input_dir give the files,
            its sample_rate, n_fft and hop_length the baseline's parameters.
        limit: int >= 1 or None, the number of files (spread over the source's list).
        workers: ``num_workers`` values to run the pipeline with.
        work_dir: folder for the temporary outputs (None: the system's).
    Returns:
        list of rows ``{"setting": str, "figures": {...}}``, the baseline first:
        files, audio s, wall s, x real time (audio-seconds per wall-second),
        x baseline (the baseline's wall s over this one's) and tree RSS MiB
        (this process and its workers, sampled; None without ``/proc``).
    Raises:
        ParameterError: if the source has no usable files, or (from the pipeline)
            the chosen files give no train clip.
    """
    records = spread(
        discover_sources(
            config.source, config.input_dir, config.genres, config.validation_fraction, config.test_fraction,
            config.split_seed,
        ),
        limit,
    )
    paths = [record.path for record in records]
    audio_s = sum(sf.info(str(path)).duration for path in paths)
    for path in paths:  # into the page cache, so no method pays the first read
        Path(path).read_bytes()
    librosa.load(paths[0], sr=config.sample_rate, duration=1.0)  # librosa's lazy imports, about 2 s
    settings = [("serial librosa loop (baseline)", None)] + [
        (f"pipeline, {n} worker{'s' if n > 1 else ''}", n) for n in workers
    ]
    rows, baseline_s = [], None
    for setting, num_workers in settings:
        with tempfile.TemporaryDirectory(dir=work_dir, prefix="bench_preprocessing_") as output_dir:
            with TreeRssSampler() as memory:
                if num_workers is None:
                    wall_s = timed(baseline_loop, paths, output_dir, config.sample_rate, config.log_stft.n_fft,
                                   config.log_stft.hop_length)
                else:
                    pipeline = PreprocessingPipeline(
                        dataclasses.replace(config, output_dir=output_dir, num_workers=num_workers)
                    )
                    wall_s = timed(lambda: pipeline.run(records=records, progress=False))
        baseline_s = baseline_s or wall_s
        figures = {
            "files": len(paths),
            "audio s": significant(audio_s),
            "wall s": significant(wall_s),
            "x real time": significant(audio_s / wall_s),
            "x baseline": significant(baseline_s / wall_s),
            "tree RSS MiB": memory.peak_mb,
        }
        rows.append({"setting": setting, "figures": figures})
    return rows


def run(args):
    """Measure, print the table and write the JSON; returns 0."""
    input_override = {} if args.input is None else {"input_dir": str(args.input)}
    config = dataclasses.replace(config_from_args(PreprocessConfig, args), **input_override)
    if any(n < 1 for n in args.workers):
        raise ParameterError(f"--workers must be >= 1. Received: workers={args.workers}")
    rows = measure(config, args.limit, args.workers, args.work_dir)
    print(
        f"{config.source} files under {config.input_dir}: {config.sample_rate} Hz, n_fft {config.log_stft.n_fft}, "
        f"hop_length {config.log_stft.hop_length}, {os.cpu_count()} CPU cores"
    )
    print(
        f"{'method':<32} {'files':>6} {'audio s':>9} {'wall s':>8} {'x real time':>12} {'x baseline':>11} "
        f"{'tree RSS MiB':>13}"
    )
    for row in rows:
        f = row["figures"]
        print(
            f"{row['setting']:<32} {f['files']:>6} {f['audio s']:>9.1f} {f['wall s']:>8.2f} "
            f"{f['x real time']:>12.1f} {f['x baseline']:>11.2f} {f['tree RSS MiB'] or float('nan'):>13.0f}"
        )
    print_peak_rss()
    write_results(args.json, "preprocessing", rows)
    return 0


def main(argv=None):
    """CLI entry point; returns the exit status (0, or 2 for bad arguments or input)."""
    parser = config_parser("python -m benchmarks.preprocessing", __doc__.split("\n\n")[0])
    parser.add_argument("--input", default=None, help="input_dir of the source (default: the config's, data/chorales)")
    parser.add_argument("--limit", type=int, default=None, help="files to use, spread over the source (default all)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4], help="num_workers values (default 1 2 4)")
    parser.add_argument("--work-dir", default=None, help="folder for the temporary outputs (default: system temp)")
    add_json_argument(parser)
    return exit_status(run, parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
