"""Preprocess an audio collection into log-STFT spectrogram clips.

Usage (from the repository root):

    python -m preprocessing.run --config configs/chorales_stft.yaml
    python -m preprocessing.run --config configs/chorales_stft.yaml --set num_workers=1 --set output_dir=data/tmp

Writes ``<output_dir>/spectrograms/<split>/*.npy``, ``manifest.csv``,
``normalisation.json``, ``transform.json``, ``config.yaml``, ``skipped.csv``
and ``ignored.csv`` (see `preprocessing.dataset_folder`). Progress goes to stderr.

Exit status: 0 when every audio file was used, 1 when some were skipped (bad
audio; they are listed), 2 for bad configuration or input (message on stderr).
Files that are not audio (``cover.jpg``, ``notes.txt``, hidden files) are
ignored: counted, a few named, all listed in ``ignored.csv``, and they do not
change the exit status.
"""

import sys

from common.cli import config_from_args, config_parser, exit_status
from preprocessing.config import PreprocessConfig
from preprocessing.dataset_folder import DatasetFolder
from preprocessing.pipeline import PreprocessingPipeline

IGNORED_SHOWN = 5  # ignored files named on stdout; ignored.csv lists them all


def build_parser():
    """The CLI's ``ArgumentParser`` (``--config``, ``--set``)."""
    return config_parser(
        "python -m preprocessing.run",
        "Turn audio files into fixed-length log-STFT spectrogram clips (dB, float32 .npy), "
        "with a manifest, the transform and train-split normalisation statistics.",
        "example:\n  python -m preprocessing.run --config configs/chorales_stft.yaml --set num_workers=1\n\n"
        "exit status: 0 all audio files used, 1 some skipped (listed, and in skipped.csv), 2 bad config or input.\n"
        "Files that are not audio are ignored (counted, and listed in ignored.csv) whatever the exit status.",
    )


def preprocess(args) -> int:
    """Run the pipeline for parsed arguments and print the report; 0 all used, 1 some skipped.

    Ignored files (not audio, hidden) are printed, a few by name, but do not make it 1.
    """
    config = config_from_args(PreprocessConfig, args)
    report = PreprocessingPipeline(config).run()
    folder = DatasetFolder(report.output_dir)
    total = sum(report.clips_per_split.values())
    print(f"Wrote {total} clips to {report.output_dir} in {report.wall_s:.1f} s")
    for split, n_clips in report.clips_per_split.items():
        print(f"  {split}: {n_clips} clips from {report.files_per_split[split]} files")
    print(
        f"  normalisation (train): min_db={report.normaliser.min_value:.2f} max_db={report.normaliser.max_value:.2f}"
    )
    if getattr(config.settings, "key_normalisation", False):
        print(f"  key normalisation: every piece transposed to C major / A minor (manifest column transposition); "
              f"{report.notes_moved_out} notes moved out of the rows and dropped")
    if report.ignored:
        print(
            f"Ignored {len(report.ignored)} file(s) under the input folder that are not inputs "
            f"(all in {folder.ignored_path}):"
        )
        for path, reason in report.ignored[:IGNORED_SHOWN]:
            print(f"  {path}: {reason}")
        if len(report.ignored) > IGNORED_SHOWN:
            print(f"  ... and {len(report.ignored) - IGNORED_SHOWN} more")
    if report.skipped:
        print(f"Skipped {len(report.skipped)} file(s) (also in {folder.skipped_path}):")
        for path, reason in report.skipped:
            print(f"  {path}: {reason}")
        return 1
    return 0


def main(argv=None) -> int:
    """Run the pipeline; returns the exit status (0 all used, 1 some skipped, 2 bad input)."""
    return exit_status(preprocess, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
