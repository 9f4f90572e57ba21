"""Preprocess an audio collection into log-STFT spectrogram clips.

Usage (from the repository root):

    python -m preprocessing.run --config configs/chorales_stft.yaml
    python -m preprocessing.run --config configs/chorales_stft.yaml --set num_workers=1 --set output_dir=data/tmp

Writes ``<output_dir>/spectrograms/<split>/*.npy``, ``manifest.csv``,
``normalisation.json``, ``transform.json``, ``config.yaml`` and ``skipped.csv``
(see `preprocessing.saver`). Progress goes to stderr.

Exit status: 0 when every file was used, 1 when some files were skipped (they
are listed), 2 for bad configuration or input (message on stderr).
"""

import sys

from common.cli import config_from_args, config_parser, exit_status
from preprocessing.config import PreprocessConfig
from preprocessing.pipeline import PreprocessingPipeline


def build_parser():
    """The CLI's ``ArgumentParser`` (``--config``, ``--set``)."""
    return config_parser(
        "python -m preprocessing.run",
        "Turn audio files into fixed-length log-STFT spectrogram clips (dB, float32 .npy), "
        "with a manifest, the transform and train-split normalisation statistics.",
        "example:\n  python -m preprocessing.run --config configs/chorales_stft.yaml --set num_workers=1\n\n"
        "exit status: 0 all files used, 1 some files skipped (listed, and in skipped.csv), 2 bad config or input.",
    )


def preprocess(args) -> int:
    """Run the pipeline for parsed arguments and print the report; 0 all used, 1 some skipped."""
    report = PreprocessingPipeline(config_from_args(PreprocessConfig, args)).run()
    total = sum(report.clips_per_split.values())
    print(f"Wrote {total} clips to {report.output_dir} in {report.wall_s:.1f} s")
    for split, n_clips in report.clips_per_split.items():
        print(f"  {split}: {n_clips} clips from {report.files_per_split[split]} files")
    print(
        f"  normalisation (train): min_db={report.normaliser.min_value:.2f} max_db={report.normaliser.max_value:.2f}"
    )
    if report.skipped:
        print(f"Skipped {len(report.skipped)} file(s) (also in {report.output_dir / 'skipped.csv'}):")
        for path, reason in report.skipped:
            print(f"  {path}: {reason}")
        return 1
    return 0


def main(argv=None) -> int:
    """Run the pipeline; returns the exit status (0 all used, 1 some skipped, 2 bad input)."""
    return exit_status(preprocess, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
