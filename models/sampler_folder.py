"""The files a trained diffusion model is sampled from: ``network.keras`` and ``diffusion.json`` in one folder.

``network.keras`` is the EMA network (a functional Keras model, no optimizer);
``diffusion.json`` is `models.diffusion.DiffusionModel.get_config` without the network:
the schedule (a serialized Keras object), ``data_mean``, ``data_std``, ``ema_momentum``,
``loss_type``, ``clip_range``, ``prediction``, ``min_snr_gamma``, the auxiliary loss
weights, ``class_names``, ``conditioning`` and ``name``. Files written before a key
existed load with its default (``conditioning``: inferred from the network,
`models.conditioning.legacy_conditioning`).
"""

from pathlib import Path

import keras

from common.atomic import atomic_path, atomic_write_json
from common.json_file import read_json_mapping
from common.keras_file import load_keras_model
from models.conditioning import legacy_conditioning
from models.diffusion import DiffusionModel
from models.group_norm import fast_group_norms

NETWORK_FILE = "network.keras"
SETTINGS_FILE = "diffusion.json"


def save_sampler(model, folder):
    """Write what sampling needs, small: the EMA network and the model's other settings.

    Writes ``<folder>/network.keras`` (the EMA network, no optimizer) and
    ``<folder>/diffusion.json`` (schedule, data moments, loss, clip range, prediction target,
    conditioning), each atomically (temporary name, then rename).

    Args:
        model: a trained `DiffusionModel`.
        folder: destination folder (created if missing).
    Returns:
        The folder as a ``Path``.
    """
    folder = Path(folder)
    config = model.get_config()
    config.pop("network")
    with atomic_path(folder / NETWORK_FILE) as tmp:
        model.ema_network.save(tmp)
    atomic_write_json(folder / SETTINGS_FILE, config)
    return folder


def load_sampler(folder):
    """Rebuild a `DiffusionModel` for sampling from `save_sampler`'s files.

    Args:
        folder: a folder holding ``network.keras`` and ``diffusion.json``.
    Returns:
        A `DiffusionModel` whose network and EMA network both hold the saved EMA weights.
    Raises:
        ParameterError: naming the file, if either is missing ("not found") or
            unreadable ("unreadable or corrupt", e.g. a truncated network.keras).
    """
    folder = Path(folder)
    network = fast_group_norms(load_keras_model(folder / NETWORK_FILE, "Network file"))  # files saved before it existed
    config = read_json_mapping(folder / SETTINGS_FILE, "Diffusion settings file")
    config = legacy_conditioning(config, network)
    config["network"] = network
    config["schedule"] = keras.saving.deserialize_keras_object(config["schedule"])
    return DiffusionModel(**config)
