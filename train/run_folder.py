"""The run folder ``saved_models/<run>/``: the one place that names a training run's files, reads them and writes them.

    <run_dir>/
        config.yaml          the resolved config (`train.config.DiffusionTrainConfig` or `AutoencoderTrainConfig`)
        network.keras, diffusion.json     a DDIM: the EMA network and its settings (`models.sampler_folder`)
        autoencoder.keras    an autoencoder; a VAE: vae_encoder.keras and vae_decoder.keras (`models.first_stage`)
        transform.json, normalisation.json   the data set's, copied (the inverse uses the forward's
                             parameters and statistics)
        latent.json, latent_decoder.keras    a latent DDIM: its latent data set's, copied (its samples are decoded)
        history.csv, history.png   the training curves, each epoch once (`drop_history_from`)
        summary.json         figures measured during the run
        checkpoints/         `train.checkpoint.TrainingCheckpoint`: a killed run started again with the
                             same command resumes from it, and a finished one given more ``epochs`` trains on
        tensorboard/         with ``tensorboard: true``

The files copied from the data set keep its names (`preprocessing.dataset_folder.DatasetFolder`).
The run's kind (``"ddim"``, ``"autoencoder"`` or ``"vae"``) is decided here, from its model files
(`RunFolder.kind`). Keras, the model formats (`models`) and the training configs are imported when a method
needs them, not with this module, so that the sampling CLIs start without them.
"""

import csv
import shutil
from functools import cached_property
from pathlib import Path

from common.atomic import atomic_path, atomic_write_json, atomic_write_text
from common.config import load_saved_config, save_config
from common.errors import ParameterError
from preprocessing.codec import SpectrogramCodec
from preprocessing.dataset_folder import DatasetFolder
from preprocessing.latent_files import LatentFiles
from train.checkpoint import TrainingCheckpoint

KINDS = ("ddim", "autoencoder", "vae")


class RunFolder(LatentFiles):
    """One training run's folder (module docstring): its file names, the run's kind, reads and writes.

    Nothing is read when the object is made; the kind, the config and the latent info are read
    once and kept.

    Args:
        path: str or Path of the folder (created by `prepare`).
    """

    CONFIG_FILE = "config.yaml"
    HISTORY_FILE = "history.csv"
    HISTORY_PLOT_FILE = "history.png"
    SUMMARY_FILE = "summary.json"
    CHECKPOINT_DIR = "checkpoints"
    TENSORBOARD_DIR = "tensorboard"
    # copied from the data set trained on, under its names
    TRANSFORM_FILE = DatasetFolder.TRANSFORM_FILE
    NORMALISATION_FILE = DatasetFolder.NORMALISATION_FILE

    def __init__(self, path):
        self.path = Path(path)

    def __repr__(self):
        return f"RunFolder({str(self.path)!r})"

    # === File names ===

    @property
    def config_path(self) -> Path:
        return self.path / self.CONFIG_FILE

    @property
    def transform_path(self) -> Path:
        return self.path / self.TRANSFORM_FILE

    @property
    def normalisation_path(self) -> Path:
        return self.path / self.NORMALISATION_FILE

    @property
    def history_path(self) -> Path:
        return self.path / self.HISTORY_FILE

    @property
    def history_plot_path(self) -> Path:
        return self.path / self.HISTORY_PLOT_FILE

    @property
    def summary_path(self) -> Path:
        return self.path / self.SUMMARY_FILE

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / self.CHECKPOINT_DIR

    @property
    def tensorboard_dir(self) -> Path:
        return self.path / self.TENSORBOARD_DIR

    # === Reading ===

    @cached_property
    def kind(self) -> str:
        """``"ddim"`` (``diffusion.json``; a latent DDIM too), ``"autoencoder"`` (``autoencoder.keras``)
        or ``"vae"`` (``vae_decoder.keras``), looked for in that order.

        Raises:
            ParameterError: if the folder is missing or holds none of them.
        """
        # the model files are named by their formats' modules (imported here: they import Keras)
        from models.first_stage import AUTOENCODER_FILE, VAE_DECODER_FILE, first_stage_kind
        from models.sampler_folder import NETWORK_FILE, SETTINGS_FILE

        if not self.path.is_dir():
            raise ParameterError(f"Model folder not found. Received: model_dir={str(self.path)!r}")
        if (self.path / SETTINGS_FILE).is_file():
            return "ddim"
        kind = first_stage_kind(self.path)
        if kind is None:
            raise ParameterError(
                f"Model folder holds neither {SETTINGS_FILE} + {NETWORK_FILE} (DDIM), {AUTOENCODER_FILE} nor "
                f"{VAE_DECODER_FILE}. Received: model_dir={str(self.path)!r}"
            )
        return kind

    @property
    def config_class(self):
        """The config dataclass of the run's `kind`: `DiffusionTrainConfig` or `AutoencoderTrainConfig`."""
        from train.config import AutoencoderTrainConfig, DiffusionTrainConfig

        return DiffusionTrainConfig if self.kind == "ddim" else AutoencoderTrainConfig

    @cached_property
    def config(self):
        """The run's ``config.yaml`` as its `config_class`; None when the folder has no config.

        A config written by older code loads (`common.config.load_saved_config`): keys added
        since take their defaults, keys removed since (``shuffle_buffer``) are dropped.

        Raises:
            ParameterError: as `kind`; or if the file is not valid YAML, or holds an unknown
                key or a bad value (naming it).
        """
        if not self.config_path.is_file():
            return None
        return load_saved_config(self.config_class, self.config_path)

    def codec(self) -> SpectrogramCodec:
        """The copied transform and normaliser (`SpectrogramCodec.from_files`; the transform is read first).

        Raises:
            ParameterError: naming the file, if either is missing or unreadable.
        """
        return SpectrogramCodec.from_files(self.transform_path, self.normalisation_path)

    def load_model(self):
        """The model the run samples or reconstructs with, by `kind`: the `models.diffusion.DiffusionModel`
        (`models.sampler_folder.load_sampler`), the VAE's decoder, or the whole autoencoder (``keras.Model``).

        Raises:
            ParameterError: as `kind`; or naming the file, if a model file is missing, unreadable or corrupt.
        """
        from models.first_stage import load_autoencoder, load_vae_decoder
        from models.sampler_folder import load_sampler

        loaders = {"ddim": load_sampler, "vae": load_vae_decoder, "autoencoder": load_autoencoder}
        return loaders[self.kind](self.path)

    def spectrogram_data_dir(self) -> str:
        """The spectrogram data set the run's outputs compare with: its config's ``data_dir``, or for
        a latent DDIM the data set its latents were encoded from; "" when the folder names none.

        Raises:
            ParameterError: as `latent_info` and `config`.
        """
        if self.latent_info:
            return self.latent_info.get("source_data_dir", "")
        return self.config.data_dir if self.config is not None else ""

    # === Writing ===

    def prepare(self, config, data, chief=True):
        """Create the folder and write the resolved config and the data set's transform and statistics
        into it (and a latent data set's ``latent.json`` and ``latent_decoder.keras``).

        A checkpoint already there (a resumed run) is checked first: one of another config
        is refused before anything is overwritten. Workers other than the chief (``chief``
        False) write nothing.

        Args:
            config: the frozen config dataclass of the job.
            data: the `preprocessing.dataset_folder.DatasetFolder` trained on (read: its latent info).
            chief: False on the workers of a multi-worker run that must not write.
        Returns:
            ``self``.
        Raises:
            ParameterError: if the folder holds a checkpoint of another config (`train.checkpoint`).
            OSError: if a data set file cannot be copied.
        """
        self.checkpoint(config).check()
        if not chief:
            return self
        self.path.mkdir(parents=True, exist_ok=True)
        save_config(config, self.config_path)
        self.__dict__.pop("config", None)  # read afresh next time
        self.__dict__.pop("latent_info", None)
        copies = [(data.transform_path, self.transform_path), (data.normalisation_path, self.normalisation_path)]
        if data.latent_info:  # a latent data set also brings its decoder: the run then decodes its samples
            copies += [(data.latent_info_path, self.latent_info_path), (data.latent_decoder_path, self.latent_decoder_path)]
        for source, destination in copies:
            with atomic_path(destination) as tmp:
                shutil.copyfile(source, tmp)
        return self

    def checkpoint(self, config, write=True) -> TrainingCheckpoint:
        """The run's `TrainingCheckpoint` in ``checkpoints/`` for ``config`` (``write`` False: saves nothing)."""
        return TrainingCheckpoint(self.checkpoint_dir, config, write=write)

    def drop_history_from(self, first_epoch) -> int:
        """`drop_history_from` on the run's ``history.csv``; returns the rows dropped."""
        return drop_history_from(self.history_path, first_epoch)

    def write_sampler(self, model) -> Path:
        """Write a trained DDIM's ``network.keras`` and ``diffusion.json`` (`models.sampler_folder.save_sampler`)."""
        from models.sampler_folder import save_sampler

        return save_sampler(model, self.path)

    def write_autoencoder(self, autoencoder) -> Path:
        """Write ``autoencoder.keras`` without the optimizer (`models.first_stage.save_autoencoder`)."""
        from models.first_stage import save_autoencoder

        return save_autoencoder(autoencoder, self.path)

    def write_vae(self, encoder, decoder) -> tuple:
        """Write ``vae_encoder.keras`` and ``vae_decoder.keras`` without optimizers (`models.first_stage.save_vae`)."""
        from models.first_stage import save_vae

        return save_vae(encoder, decoder, self.path)

    def write_summary(self, summary) -> Path:
        """Write ``summary.json`` (figures measured during the run, a JSON-safe dict) atomically."""
        return atomic_write_json(self.summary_path, summary)


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
