"""Step checkpoints of a training run: one atomically written ``.npz`` file that a restart resumes from.

``<run_dir>/checkpoints/checkpoint.npz`` holds every variable of the model
(``model.variables``: the weights, the EMA weights, random-seed states) and of its
optimizer (``optimizer.variables``: the step counter, Adam's moments, the loss scale),
the optimizer step it was taken at, and the run's *fingerprint*: the config keys that
define the model and its data order. It is written to a temporary name, flushed to
disk and renamed (`common.atomic.atomic_path`), so a process killed at any moment
leaves either the previous checkpoint or the new one, never half of one.

A restart whose fingerprint differs from the checkpoint's is refused with the
differing keys named, rather than silently training a different model from the
old weights. Keys that do not change the model or its data order (how long to
train, logging, the strategy, ...) may change between restarts: raising
``epochs`` continues a finished run.
"""

import dataclasses
import json
import os
from pathlib import Path

import numpy as np

from common.atomic import atomic_path
from common.errors import ParameterError

# Config keys a restart may change: how long and how observed, not what is trained.
RESTARTABLE_KEYS = frozenset(
    {
        "run_dir", "epochs", "max_train_minutes", "validation_batches", "sampling_steps", "strategy",
        "checkpoint_every", "worker_timeout_s", "tensorboard", "tensorboard_sample_every", "jit_compile",
        "decay_steps", "cache_clips", "data_dir", "guidance_scale", "guidance_interval", "init_from",
        "griffin_lim_iters",
    }
)
FILE_NAME = "checkpoint.npz"


def fingerprint(config):
    """The config keys that a checkpoint must agree on: every key but `RESTARTABLE_KEYS`, JSON-ready.

    Args:
        config: a frozen training-config dataclass.
    Returns:
        dict key -> value (tuples as lists).
    """
    values = {}
    for key in sorted(config.__dataclass_fields__):
        if key in RESTARTABLE_KEYS:
            continue
        value = getattr(config, key)
        values[key] = list(value) if isinstance(value, tuple) else value
    return values


def _defaults(config):
    """The config class's default value of every key (those without one map to None)."""
    fields = config.__dataclass_fields__
    return {k: (list(f.default) if isinstance(f.default, tuple) else f.default) for k, f in fields.items()
            if not isinstance(f.default, type(dataclasses.MISSING))}


def _variables(model):
    return list(model.variables) + list(model.optimizer.variables)


class TrainingCheckpoint:
    """Save and restore a model, its optimizer and the step count in ``<folder>/checkpoint.npz``.

    A key missing from a checkpoint (one written before the key existed) counts as its
    default value, so adding a config key does not orphan older checkpoints.

    Args:
        folder: the checkpoint folder (``<run_dir>/checkpoints``), created on the first save.
        config: the run's frozen config dataclass (its `fingerprint` is checked).
        write: False on the workers that must not write (multi-worker: all but the chief);
            `save` then does nothing.
    """

    def __init__(self, folder, config, write=True):
        self.path = Path(folder) / FILE_NAME
        self.fingerprint = fingerprint(config)
        self.defaults = _defaults(config)
        self.write = write

    def save(self, model, step):
        """Write every variable of ``model`` and ``model.optimizer`` and ``step`` (int >= 0), atomically."""
        if not self.write:
            return None
        variables = _variables(model)
        arrays = {f"v{i:05d}": np.asarray(v.numpy()) for i, v in enumerate(variables)}
        meta = {"step": int(step), "fingerprint": self.fingerprint, "paths": [v.path for v in variables]}
        arrays["meta"] = np.array(json.dumps(meta))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
                f.flush()
                os.fsync(f.fileno())  # durable before the rename
        return self.path

    def _read(self, arrays=False):
        """``(meta, arrays)`` of the checkpoint after checking its fingerprint; ``(None, None)`` when there is none."""
        if not self.path.is_file():
            return None, None
        try:
            with np.load(self.path) as archive:
                meta = json.loads(str(archive["meta"]))
                values = [archive[f"v{i:05d}"] for i in range(len(meta["paths"]))] if arrays else None
        except (OSError, ValueError, KeyError) as err:
            raise ParameterError(f"Could not read the checkpoint ({err}); delete it to start over. Received: {self.path}") from err
        saved = meta["fingerprint"]
        def value(values, key):
            return values.get(key, self.defaults.get(key))

        differing = sorted(k for k in set(saved) | set(self.fingerprint) if value(saved, k) != value(self.fingerprint, k))
        if differing:
            changes = ", ".join(
                f"{k}: {value(saved, k)!r} in the checkpoint, {value(self.fingerprint, k)!r} now" for k in differing
            )
            raise ParameterError(
                f"The checkpoint was written by a run with another config; refusing to resume. "
                f"Use the old values, another run_dir, or delete {self.path}. Received: {changes}"
            )
        return meta, values

    def check(self):
        """Raise now, before anything is written, if the checkpoint is unreadable or of another config.

        Returns:
            The checkpoint's step, or 0 when there is none.
        Raises:
            ParameterError: as `restore`.
        """
        meta, _ = self._read()
        return 0 if meta is None else int(meta["step"])

    def restore(self, model):
        """Load the checkpoint into ``model`` and its (built) optimizer, if there is one.

        Returns:
            The optimizer step the checkpoint was taken at, or 0 when there is none.
        Raises:
            ParameterError: if the checkpoint is unreadable, was written for another config
                (the differing keys and both values are named), or holds other variables.
        """
        meta, arrays = self._read(arrays=True)
        if meta is None:
            return 0
        variables = _variables(model)
        if len(variables) != len(arrays):
            raise ParameterError(
                f"The checkpoint holds {len(arrays)} variables, the model {len(variables)}. Received: {self.path}"
            )
        for variable, path, array in zip(variables, meta["paths"], arrays):
            if tuple(variable.shape) != array.shape:
                raise ParameterError(
                    f"Checkpoint variable {path} has shape {array.shape}, the model's {variable.path} "
                    f"{tuple(variable.shape)}. Received: {self.path}"
                )
            variable.assign(array)
        return int(meta["step"])
