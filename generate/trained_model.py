"""A trained run folder as something that makes normalised spectrograms: DDIM samples or autoencoder reconstructions."""

from pathlib import Path

import numpy as np
import yaml

from common.errors import ParameterError
from common.keras_file import load_keras_model


def model_kind(model_dir):
    """``"ddim"``, ``"autoencoder"`` or ``"vae"`` from the files in ``model_dir``.

    Raises:
        ParameterError: if the folder is missing or holds neither model.
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ParameterError(f"Model folder not found. Received: model_dir={str(model_dir)!r}")
    if (model_dir / "diffusion.json").is_file():
        return "ddim"
    if (model_dir / "autoencoder.keras").is_file():
        return "autoencoder"
    if (model_dir / "vae_decoder.keras").is_file():
        return "vae"
    raise ParameterError(
        "Model folder holds neither diffusion.json + network.keras (DDIM), autoencoder.keras nor vae_decoder.keras. "
        f"Received: model_dir={str(model_dir)!r}"
    )


def run_config(model_dir):
    """The run's ``config.yaml`` as a dict (empty if the folder has none)."""
    path = Path(model_dir) / "config.yaml"
    return yaml.safe_load(path.read_text()) if path.is_file() else {}


def spectrogram_data_dir(model_dir):
    """The spectrogram data set a run's outputs compare with: its ``data_dir``, or for a latent
    DDIM (``latent.json`` in the folder) the data set its latents were encoded from ("" if unknown)."""
    from preprocessing.latents import read_latent_info

    latent = read_latent_info(model_dir)
    return latent.get("source_data_dir", "") if latent else run_config(model_dir).get("data_dir", "")


class TrainedModel:
    """Loads a run folder once and produces normalised spectrograms from it.

    A latent DDIM (a DDIM run folder with ``latent_decoder.keras``, trained on a
    ``preprocessing.latents`` data set) is of kind ``"ddim"``; its samples are decoded.

    Args:
        model_dir: a run folder written by ``train.diffusion`` or ``train.autoencoder``.
    Raises:
        ParameterError: see `model_kind`; or naming the file, if a ``.keras``
            file is missing or unreadable or corrupt (`common.keras_file.load_keras_model`).
    """

    def __init__(self, model_dir):
        from models.sampler_folder import load_sampler
        from preprocessing.latents import load_latent_decoder

        self.model_dir = Path(model_dir)
        self.kind = model_kind(self.model_dir)
        self.config = run_config(self.model_dir)
        self.latent_decoder = None
        self._text_encoder = None  # loaded on the first prompt, then kept
        if self.kind == "ddim":
            self.model = load_sampler(self.model_dir)
            self.latent_decoder = load_latent_decoder(self.model_dir)  # latent diffusion: samples are decoded
        elif self.kind == "vae":
            self.model = load_keras_model(self.model_dir / "vae_decoder.keras", "VAE decoder file")
        else:
            self.model = load_keras_model(self.model_dir / "autoencoder.keras", "Autoencoder file")

    @property
    def data_shape(self):
        """``(n_freq_bins, n_frames)`` of the spectrograms the model makes."""
        if self.latent_decoder is not None:
            shape = tuple(self.latent_decoder.outputs[0].shape[1:])
        elif self.kind == "ddim":
            shape = self.model.data_shape
        elif self.kind == "vae":
            shape = tuple(self.model.outputs[0].shape[1:])
        else:
            shape = tuple(self.model.inputs[0].shape[1:])
        return int(shape[0]), int(shape[1])

    @property
    def parameters(self):
        """Parameters used in sampling: the DDIM's network (and a latent DDIM's decoder), the VAE's decoder,
        or the whole autoencoder."""
        if self.kind == "ddim":
            decoder = self.latent_decoder.count_params() if self.latent_decoder is not None else 0
            return int(self.model.network.count_params() + decoder)
        return int(self.model.count_params())

    def default_steps(self):
        """DDIM steps the run was configured to sample with (None for an autoencoder)."""
        # imported here, not at the top: train.config imports Keras, and generate.sounds starts without it
        from train.config import DiffusionTrainConfig

        if self.kind != "ddim":
            return None
        return int(self.config.get("sampling_steps", DiffusionTrainConfig.sampling_steps))

    def warm_up(self, seeds=None, originals=None, label=None, guidance_scale=None, prompt=None, sampler=None,
                guidance_rescale=None):
        """Run the model once on one sample, so that later calls run at their steady-state speed.

        One DDIM step on ``seeds[0]`` (with the same condition and guidance: each is traced
        once, `models.diffusion.DiffusionModel.ema_denoiser`; a latent DDIM's decoder runs too),
        or the VAE's decoder on ``seeds[0]``, or the autoencoder on ``originals[:1]``: the
        first call of a TensorFlow function traces and optimises its graph, and this is that
        first call. Arguments as `spectrograms`; the output is thrown away.

        Raises:
            ParameterError: as `spectrograms`.
        """
        self.spectrograms(seeds=None if seeds is None else list(seeds)[:1], steps=1 if self.kind == "ddim" else None,
                          originals=None if originals is None else np.asarray(originals)[:1], label=label,
                          guidance_scale=guidance_scale, prompt=prompt, sampler=sampler,
                          guidance_rescale=guidance_rescale)

    def spectrograms(self, seeds=None, steps=None, originals=None, label=None, guidance_scale=None, prompt=None,
                     sampler=None, guidance_rescale=None):
        """DDIM or VAE samples for ``seeds``, or autoencoder reconstructions of ``originals``.

        Args:
            seeds: DDIM (pixel or latent) and VAE: one int per sample (sample i is reproducible from seeds[i];
                the VAE decodes a standard-normal latent drawn from it).
            steps: DDIM only: sampling steps (None = `default_steps`).
            originals: autoencoder only: ``(batch, n_freq_bins, n_frames)`` normalised spectrograms.
            label: class-conditional DDIM only: a class name for every sample (None: unconditional).
            prompt: text-conditional DDIM only: a text prompt for every sample (None: unconditional).
            guidance_scale: classifier-free guidance with ``label`` or ``prompt`` (None: the run's ``guidance_scale``).
            sampler: DDIM only: ``"ddim"`` or ``"dpm++2m"`` (None: the run's ``sampler``, ddim for runs before it).
            guidance_rescale: with guidance, in [0, 1] (None: the run's ``guidance_rescale``, 0 before it).
        Returns:
            float32 ``(batch, n_freq_bins, n_frames)`` normalised spectrograms (nominally [0, 1]).
        Raises:
            ParameterError: if the input the model kind needs is missing, a label is given to a
                model that takes none or is not one of its classes, or ``guidance_scale`` < 0.
        """
        if (label is not None or prompt is not None) and self.kind != "ddim":
            raise ParameterError(f"Only a conditional DDIM takes a label or a prompt. Received: {label or prompt!r}")
        if label is not None and prompt is not None:
            raise ParameterError("Give a label or a prompt, not both. Received: both")
        if self.kind == "ddim":
            if seeds is None:
                raise ParameterError("A DDIM samples from seeds. Received: seeds=None")
            steps = steps or self.default_steps()
            if guidance_scale is None:
                from train.config import DiffusionTrainConfig

                guidance_scale = float(self.config.get("guidance_scale", DiffusionTrainConfig.guidance_scale))
            context = None
            if prompt is not None:
                if self.model.conditioning != "text":
                    raise ParameterError(f"This model takes no text prompt (its conditioning: {self.model.conditioning}). "
                                         f"Received: prompt={prompt!r}")
                if self._text_encoder is None:
                    from models.text_encoder import TextEncoder

                    self._text_encoder = TextEncoder(max_tokens=self.model.context_shape[0])
                tokens, mask, _ = self._text_encoder.encode([prompt])
                context = (tokens[0], mask[0].astype("float32"))
            conditioned = label is not None or prompt is not None
            if sampler is None:
                sampler = str(self.config.get("sampler", "ddim"))
            if guidance_rescale is None:
                guidance_rescale = float(self.config.get("guidance_rescale", 0.0))
            generated = self.model.generate(seeds=list(seeds), diffusion_steps=steps, labels=label, context=context,
                                            guidance_scale=guidance_scale if conditioned else 1.0, sampler=sampler,
                                            guidance_rescale=guidance_rescale if conditioned else 0.0)
            if self.latent_decoder is not None:
                generated = self.latent_decoder.predict(np.asarray(generated), verbose=0)
            return np.asarray(generated)[..., 0]
        if self.kind == "vae":
            if seeds is None:
                raise ParameterError("A VAE samples from seeds. Received: seeds=None")
            from models.vae import sample_latents

            latents = sample_latents(seeds, tuple(int(d) for d in self.model.inputs[0].shape[1:]))
            return np.asarray(self.model.predict(latents, verbose=0))[..., 0]
        if originals is None:
            raise ParameterError("An autoencoder reconstructs given spectrograms. Received: originals=None")
        return np.asarray(self.model.predict(np.asarray(originals)[..., None], verbose=0))[..., 0]
