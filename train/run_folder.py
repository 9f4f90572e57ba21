"""The run folder ``saved_models/<run>/``: what a training writes, and resumable fitting.

A finished run folder holds the model, ``config.yaml`` (the resolved config),
``transform.json`` and ``normalisation.json`` (copied from the dataset, so the
inverse always uses the forward's parameters and statistics), ``history.csv``,
``history.png``, ``summary.json`` and ``checkpoints/checkpoint.npz`` (`train.checkpoint`):
a killed run started again with the same command resumes from its last checkpoint,
and a finished one started with more ``epochs`` trains on. ``history.csv`` holds
each epoch once: a resumed run first drops the rows of the epochs it runs again
(`drop_history_from`).
"""

import csv
import shutil
import time
from pathlib import Path

import keras

from common.atomic import atomic_write_json, atomic_write_text
from common.config import save_config
from preprocessing.latents import LATENT_FILES
from train.checkpoint import TrainingCheckpoint


class TimeBudget(keras.callbacks.Callback):
    """Stop training at the end of the first epoch that ends after ``minutes`` of wall time."""

    def __init__(self, minutes):
        super().__init__()
        self.seconds = None if minutes is None else 60.0 * minutes
        self.start = None

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        if self.seconds is not None and time.monotonic() - self.start >= self.seconds:
            print(f"Time budget of {self.seconds / 60:.1f} min reached after epoch {epoch + 1}; stopping.", flush=True)
            self.model.stop_training = True


def prepare_run_dir(run_dir, config, data, chief=True):
    """Create ``run_dir`` and write the resolved config, transform and statistics into it
    (and, for a latent data set, ``latent.json`` and ``latent_decoder.keras``).

    A checkpoint already there (a resumed run) is checked first: one of another config
    is refused before anything is overwritten. Workers other than the chief (``chief``
    False) write nothing.

    Args:
        run_dir: destination folder.
        config: the frozen config dataclass of the job.
        data: the `train.data.SpectrogramData` trained on.
        chief: False on the workers of a multi-worker run that must not write.
    Returns:
        ``run_dir`` as a ``Path``.
    Raises:
        ParameterError: if ``run_dir`` holds a checkpoint of another config (`train.checkpoint`).
    """
    run_dir = Path(run_dir)
    TrainingCheckpoint(run_dir / "checkpoints", config).check()
    if not chief:
        return run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(config, run_dir / "config.yaml")
    # a latent data set (preprocessing.latents) also brings its decoder: the run then decodes its samples
    names = ("transform.json", "normalisation.json") + (LATENT_FILES if data.latent else ())
    for name in names:
        shutil.copyfile(data.data_dir / name, run_dir / f".{name}.tmp")
        (run_dir / f".{name}.tmp").replace(run_dir / name)
    return run_dir


def drop_history_from(history_csv, first_epoch):
    """Drop the rows of epochs ``>= first_epoch`` from a Keras ``CSVLogger`` file, atomically.

    A run killed after an epoch's CSV row but before that epoch's checkpoint runs
    the epoch again when it resumes, and ``CSVLogger(append=True)`` would write its
    row a second time. Called with the first epoch the run is about to run, this
    keeps each epoch once. The header and the kept rows are left byte for byte;
    a file left with no rows is removed, so the next header is written afresh.

    Args:
        history_csv: the CSV file (first column ``epoch``, 0-based); a missing file is left missing.
        first_epoch: int >= 0, the first epoch the run will log.
    Returns:
        The number of rows dropped.
    """
    history_csv = Path(history_csv)
    if not history_csv.is_file():
        return 0
    with history_csv.open(newline="", encoding="utf-8") as f:  # newline="": CSVLogger's \r\n kept as is
        lines = f.read().splitlines(keepends=True)
    if not lines:
        return 0
    header, rows = lines[0], lines[1:]

    def epoch(line):
        fields = next(csv.reader([line]), [])
        try:
            return int(fields[0])
        except (IndexError, ValueError):
            return None  # not a row we understand (a blank line): kept

    kept = [line for line in rows if (e := epoch(line)) is None or e < first_epoch]
    dropped = len(rows) - len(kept)
    if not dropped:
        return 0
    if any(line.strip() for line in kept):
        atomic_write_text(history_csv, "".join([header, *kept]))
    else:
        history_csv.unlink()
    return dropped


def write_summary(run_dir, summary):
    """Write ``summary.json`` (figures measured during the run) atomically."""
    return atomic_write_json(Path(run_dir) / "summary.json", summary)
