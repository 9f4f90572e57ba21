"""The two files a latent folder holds, for both folder owners: a latent data set
(`preprocessing.dataset_folder.DatasetFolder`) and a latent DDIM's run (`train.run_folder.RunFolder`,
which copies them from its data set)."""

from functools import cached_property
from pathlib import Path

from common.json_file import read_json_mapping
from common.keras_file import load_keras_model


class LatentFiles:
    """``latent.json`` (what the first stage made: its folder, the latent shape, the scale) and
    ``latent_decoder.keras`` (the first stage's decoder) in a folder ``self.path``.

    A mixin: the class that uses it sets ``path`` (a `pathlib.Path`).
    """

    LATENT_INFO_FILE = "latent.json"
    LATENT_DECODER_FILE = "latent_decoder.keras"
    path: Path

    @property
    def latent_info_path(self) -> Path:
        return self.path / self.LATENT_INFO_FILE

    @property
    def latent_decoder_path(self) -> Path:
        return self.path / self.LATENT_DECODER_FILE

    @cached_property
    def latent_info(self):
        """``latent.json`` as a dict for a latent folder; None for others.

        Raises:
            ParameterError: naming the file, if it is there but not a JSON mapping.
        """
        path = self.latent_info_path
        return read_json_mapping(path, self.LATENT_INFO_FILE) if path.is_file() else None

    def load_latent_decoder(self):
        """The latent decoder (``keras.Model``, latents -> float32 ``(n, n_freq_bins, n_frames, 1)`` in [0, 1]);
        None when the folder has none.

        Raises:
            ParameterError: naming the file, if it is there but unreadable or corrupt.
        """
        if not self.latent_decoder_path.is_file():
            return None
        return load_keras_model(self.latent_decoder_path, "Latent decoder file")
