"""The run folder ``saved_models/<run>/``: what a training writes, and resumable fitting.

A finished run folder holds the model, ``config.yaml`` (the resolved config),
``transform.json`` and ``normalisation.json`` (copied from the dataset, so the
inverse always uses the forward's parameters and statistics), ``history.csv``,
``history.png`` and ``summary.json``. While training it also holds ``checkpoints/`` (Keras
``BackupAndRestore``): a killed run started again with the same command
resumes from the last finished epoch.
"""

import shutil
import sys
import time
from pathlib import Path

import keras

from common.atomic import atomic_write_json
from common.config import save_config
from train.callbacks import LearningRateLogger
from train.history_plot import plot_history


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


def prepare_run_dir(run_dir, config, data):
    """Create ``run_dir`` and write the resolved config, transform and statistics into it.

    Args:
        run_dir: destination folder.
        config: the frozen config dataclass of the job.
        data: the `train.data.SpectrogramData` trained on.
    Returns:
        ``run_dir`` as a ``Path``.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    save_config(config, run_dir / "config.yaml")
    for name in ("transform.json", "normalisation.json"):
        shutil.copyfile(data.data_dir / name, run_dir / f".{name}.tmp")
        (run_dir / f".{name}.tmp").replace(run_dir / name)
    return run_dir


def fit_resumable(model, train_ds, val_ds, config, run_dir, extra_callbacks=()):
    """``model.fit`` with checkpoint/resume, a CSV history (with ``learning_rate``), a time budget and progress.

    Args:
        model: a compiled ``keras.Model``.
        train_ds: repeating ``tf.data.Dataset`` of training batches.
        val_ds: finite validation dataset or None.
        config: a training config with ``epochs``, ``steps_per_epoch``,
            ``validation_batches`` and ``max_train_minutes``.
        run_dir: the run folder (`prepare_run_dir`).
        extra_callbacks: more callbacks, run after the CSV history is written
            (e.g. `train.callbacks.tensorboard_callbacks`).
    Returns:
        ``(history, seconds)``: the Keras ``History`` and the wall time of this call.
    """
    run_dir = Path(run_dir)
    callbacks = [
        keras.callbacks.BackupAndRestore(str(run_dir / "checkpoints"), save_freq="epoch", delete_checkpoint=True),
        LearningRateLogger(),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True),
        *extra_callbacks,
        TimeBudget(config.max_train_minutes),
    ]
    start = time.monotonic()
    history = model.fit(
        train_ds,
        epochs=config.epochs,
        steps_per_epoch=config.steps_per_epoch,
        validation_data=val_ds if config.validation_batches else None,
        validation_steps=config.validation_batches or None,
        callbacks=callbacks,
        verbose=1 if sys.stdout.isatty() else 2,
    )
    plot_history(run_dir / "history.csv")
    return history, time.monotonic() - start


def write_summary(run_dir, summary):
    """Write ``summary.json`` (figures measured during the run) atomically."""
    return atomic_write_json(Path(run_dir) / "summary.json", summary)
