"""Give a data set's train-clip level summary to a data set or model saved before it existed.

Usage:
    python -m preprocessing.measure_levels data/chorales_stft                   # print the summary
    python -m preprocessing.measure_levels data/chorales_stft --into saved_models/chorales_ddim

It measures each train clip's RMS level (`preprocessing.loudness.rms_dbfs`) from the
source audio its manifest row names (``source_path``, ``offset_s``, ``duration_s``);
a data set of rolls (piano roll, score roll: MIDI in, no audio clips) has its train
clips rendered by its transform (FluidSynth, as `generate.sounds` renders samples),
at most ``--max-clips`` of them (default 200, evenly spaced in the manifest; about
0.25 s each on a 2-core CPU). It prints the summary (`preprocessing.loudness.summarise_levels`) and adds it to each
``--into`` folder's ``normalisation.json`` under ``clip_rms_dbfs`` (atomically; the
other keys are kept). A folder whose normalisation statistics are not the data
set's was trained on other data and is refused. Data sets preprocessed since the
summary exists already carry it. Exit status 0, or 2 for a bad data set or folder.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from common.cli import exit_status
from common.errors import ParameterError
from common.json_file import read_json_mapping
from preprocessing.dataset_folder import DatasetFolder
from preprocessing.loader import Loader
from preprocessing.loudness import LEVELS_KEY, add_level_summary, rms_dbfs, summarise_levels
from common.validation import integer
from preprocessing.transform import MIDI

MAX_ROLL_CLIPS = 200  # roll clips rendered by default: about 50 s on a 2-core CPU


def measure_clip_levels(data_dir, split="train", progress=None, max_roll_clips=MAX_ROLL_CLIPS):
    """Each clip's `rms_dbfs`, measured from the source audio its manifest row names, or from its rendering.

    For data sets written before the manifest had ``rms_dbfs``: every source file of
    ``split`` is decoded once at the data set's ``sample_rate`` (its ``transform.json``)
    and sliced at each row's ``offset_s`` for ``duration_s``. A roll data set (the
    transform's input is MIDI) has no audio clips: `measure_roll_levels` renders them.

    Args:
        data_dir: a preprocessed data set (``manifest.csv``, ``transform.json``).
        split: ``"train"``, ``"validation"`` or ``"test"``.
        progress: None, or a text stream for one line per 50 files.
        max_roll_clips: int >= 1, roll data sets only: clips rendered at most.
    Returns:
        float64 array in dBFS: ``(n_clips,)`` in the manifest's order of the split's rows, or for
        rolls one per rendered clip.
    Raises:
        ParameterError: if the manifest or transform is missing, the split has no clips, or a
            source file cannot be decoded.
    """
    data = DatasetFolder(data_dir)
    transform = data.transform
    rows = data.split_rows(split)
    if not rows:
        raise ParameterError(f"The data set has no {split} clips. Received: data_dir={str(data.path)!r}")
    if transform.input_kind == MIDI:
        return measure_roll_levels(data, rows, max_roll_clips, progress)
    sample_rate = int(transform.sample_rate)
    loader = Loader(sample_rate)
    by_source = {}
    for i, row in enumerate(rows):
        by_source.setdefault(row["source_path"], []).append(i)
    levels = np.empty(len(rows))
    for k, (source, indices) in enumerate(by_source.items(), start=1):
        signal = loader.load(source)
        for i in indices:
            start = int(round(rows[i]["offset_s"] * sample_rate))
            clip = signal[start : start + int(round(rows[i]["duration_s"] * sample_rate))]
            if clip.size == 0:
                raise ParameterError(f"The clip lies beyond the end of its source file. Received: clip_id={rows[i]['clip_id']!r}")
            levels[i] = rms_dbfs(clip)
        if progress and (k % 50 == 0 or k == len(by_source)):
            print(f"[{k}/{len(by_source)}] files measured", file=progress, flush=True)
    return levels


def measure_roll_levels(data, rows, max_clips=MAX_ROLL_CLIPS, progress=None):
    """`rms_dbfs` of roll clips rendered by their data set's transform (``Transform.invert``: FluidSynth).

    Args:
        data: the `DatasetFolder`; rows: its manifest rows to measure.
        max_clips: int >= 1: at most this many, evenly spaced over ``rows`` (all when fewer).
        progress: None, or a text stream for one line per 50 clips.
    Returns:
        float64 array ``(min(len(rows), max_clips),)`` in dBFS.
    Raises:
        ParameterError: for ``max_clips`` < 1, or a clip that cannot be read or rendered.
    """
    max_clips = integer("max_clips", max_clips, 1)
    chosen = np.unique(np.linspace(0, len(rows) - 1, min(len(rows), max_clips)).round().astype(int))
    levels = np.empty(len(chosen))
    for k, i in enumerate(chosen):
        levels[k] = rms_dbfs(data.transform.invert(data.read_clip(data.clip_path(rows[i]["path"]))))
        if progress and ((k + 1) % 50 == 0 or k + 1 == len(chosen)):
            print(f"[{k + 1}/{len(chosen)}] clips rendered and measured", file=progress, flush=True)
    return levels


def _statistics_file(folder):
    """The normalisation statistics of a data set, or of a run trained on one (which keeps the data
    set's file under the data set's name, `train.run_folder.RunFolder`)."""
    return DatasetFolder(folder).normalisation_path


def _normalisation_range(path):
    payload = read_json_mapping(path, "Normalisation file")
    return payload.get("min_value"), payload.get("max_value")


def main(argv=None):
    """CLI: print a data set's train-clip level summary, and add it to model folders' ``normalisation.json``.

    Exit status 0, or 2 for a bad data set or folder (message on stderr).
    """
    parser = argparse.ArgumentParser(
        prog="python -m preprocessing.measure_levels",
        description="Measure the RMS level (dBFS) of a data set's train clips from their source audio (rolls: "
                    "rendered) and "
                    f"add the summary ({LEVELS_KEY}) to normalisation.json files.",
        epilog="example:\n  python -m preprocessing.measure_levels data/chorales_stft --into saved_models/chorales_ddim",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("data_dir", help="a preprocessed data set (manifest.csv, transform.json)")
    parser.add_argument("--into", nargs="*", default=[], metavar="FOLDER",
                        help="folders (models trained on this data set) whose normalisation.json gets the summary")
    parser.add_argument("--max-clips", type=int, default=MAX_ROLL_CLIPS,
                        help=f"roll data sets: train clips rendered and measured at most, evenly spaced (default {MAX_ROLL_CLIPS})")
    args = parser.parse_args(argv)

    def run():
        folders = [Path(folder) for folder in args.into]
        statistics = _normalisation_range(_statistics_file(args.data_dir))
        for folder in folders:  # fail before the long measurement
            if _normalisation_range(_statistics_file(folder)) != statistics:
                raise ParameterError(
                    f"The folder's normalisation statistics are not the data set's {statistics}, so it was "
                    f"not trained on this data set. Received: folder={str(folder)!r}"
                )
        summary = summarise_levels(measure_clip_levels(args.data_dir, progress=sys.stderr, max_roll_clips=args.max_clips))
        print(json.dumps({LEVELS_KEY: summary}, indent=2))
        for folder in folders:
            add_level_summary(_statistics_file(folder), summary)
            print(f"added to {_statistics_file(folder)}")

    return exit_status(run)


if __name__ == "__main__":
    sys.exit(main())
