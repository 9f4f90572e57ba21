"""How much the spectrogram inversion alone loses: real clips -> transform -> inverse, no model.

Usage:
    python -m benchmarks.reconstruction --data data/chorales_stft --num 16 --iters 16 32 100

For ``--num`` test-split clips of a preprocessed dataset, it reloads the
original audio, extracts the dataset's spectrogram, inverts it with
Griffin-Lim and prints, per iteration count: spectral convergence
``||S| - |S_hat|||_F / ||S||_F`` (Sturmel and Daudet 2011; lower is better,
phase-blind), log-spectral distance in dB (RMS over bins and frames of the
dB difference), and seconds per clip. This is the ceiling any model trained
on that representation can reach.
"""

import argparse
import time
from pathlib import Path

import librosa
import numpy as np

from preprocessing.loader import Loader
from preprocessing.saver import read_manifest
from preprocessing.transform_io import load_transform


def spectral_convergence(reference_db, estimate_db):
    """``|| |S| - |S_hat| ||_F / || |S| ||_F`` from two dB magnitude spectrograms of equal shape."""
    reference, estimate = 10.0 ** (reference_db / 20.0), 10.0 ** (estimate_db / 20.0)
    return float(np.linalg.norm(reference - estimate) / np.linalg.norm(reference))


def log_spectral_distance(reference_db, estimate_db):
    """RMS of the dB difference over all bins and frames, in dB."""
    return float(np.sqrt(np.mean((reference_db - estimate_db) ** 2)))


def main(argv=None):
    """CLI entry point; prints the table and returns 0."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="data/chorales_stft")
    parser.add_argument("--num", type=int, default=16)
    parser.add_argument("--iters", type=int, nargs="+", default=[16, 32, 100])
    args = parser.parse_args(argv)

    transform = load_transform(Path(args.data) / "transform.json")
    rows = [r for r in read_manifest(args.data) if r["split"] == "test"]
    rows = [rows[i] for i in np.linspace(0, len(rows) - 1, args.num).astype(int)]
    clips = [
        Loader(transform.sample_rate, offset_s=r["offset_s"], duration_s=r["duration_s"]).load(r["source_path"])
        for r in rows
    ]
    print(f"{args.data}: {transform!r}, {len(clips)} test clips")
    print(f"{'iterations':>10} {'spectral conv.':>15} {'LSD dB':>8} {'s per clip':>11}")
    for n_iter in args.iters:
        convergences, distances, seconds = [], [], 0.0
        for i, clip in enumerate(clips):
            reference_db = transform.extract(clip)
            start = time.monotonic()
            audio = transform.invert(reference_db, n_iter=n_iter, random_state=i)
            seconds += time.monotonic() - start
            estimate_db = transform.extract(librosa.util.fix_length(audio, size=len(clip)))
            convergences.append(spectral_convergence(reference_db, estimate_db))
            distances.append(log_spectral_distance(reference_db, estimate_db))
        print(f"{n_iter:>10} {np.mean(convergences):>15.4f} {np.mean(distances):>8.2f} {seconds / len(clips):>11.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
