"""Models: the networks (U-Net, autoencoder, VAE, text encoder), the noise schedules, the diffusion task and its samplers.

Networks are functional ``keras.Model`` s with no loss (`build_unet`, `build_autoencoder`,
`build_vae_parts`, `build_minilm_backbone`); `DiffusionModel` is the task that trains and samples
a U-Net under a noise schedule; its samplers (`models.samplers`) take the schedule and a denoiser.
The model files of a run: `save_sampler`/`load_sampler` (DDIM), `models.first_stage` (autoencoder,
VAE). The objective (`models.objective`), the conditioning checks (`models.conditioning`) and the
sampling entry points (`models.sampling`) are `DiffusionModel`'s parts, imported from their modules.
Nothing here knows of audio files, data sets or run folders.
"""

from common.numba_cache import prepare_numba_cache

prepare_numba_cache()  # before anything imports librosa: see common/numba_cache.py

from models.autoencoder import build_autoencoder  # noqa: E402
from models.diffusion import DiffusionModel  # noqa: E402
from models.first_stage import (  # noqa: E402
    load_autoencoder,
    load_first_stage,
    load_vae_decoder,
    save_autoencoder,
    save_vae,
)
from models.layers import (  # noqa: E402
    ConditionBias,
    MaskedMean,
    ScaleShift,
    SinusoidalEmbedding,
    SpatialCrossAttention,
    SpatialSelfAttention,
)
from models.noise_schedule import (  # noqa: E402
    SCHEDULE_NAMES,
    CosineNoiseSchedule,
    DiscreteAlphaBarSchedule,
    ImprovedCosineSchedule,
    LinearBetaSchedule,
    build_schedule,
)
from models.sampler_folder import load_sampler, save_sampler  # noqa: E402
from models.samplers import (  # noqa: E402
    SAMPLERS,
    DDIMInversion,
    DDIMSampler,
    DPMSolverPlusPlus2MSampler,
    InpaintingSampler,
    Sampler,
    SeededNoise,
    build_sampler,
)
from models.text_encoder import TextEncoder, build_minilm_backbone, load_minilm_weights  # noqa: E402
from models.training_draws import conditional_draws, forward_draws  # noqa: E402
from models.unet import build_unet  # noqa: E402
from models.vae import VariationalAutoencoder, build_vae_parts, sample_latents  # noqa: E402

__all__ = [
    "SAMPLERS",
    "SCHEDULE_NAMES",
    "ConditionBias",
    "CosineNoiseSchedule",
    "DDIMInversion",
    "DDIMSampler",
    "DPMSolverPlusPlus2MSampler",
    "DiffusionModel",
    "DiscreteAlphaBarSchedule",
    "ImprovedCosineSchedule",
    "InpaintingSampler",
    "LinearBetaSchedule",
    "MaskedMean",
    "Sampler",
    "ScaleShift",
    "SeededNoise",
    "SinusoidalEmbedding",
    "SpatialCrossAttention",
    "SpatialSelfAttention",
    "TextEncoder",
    "VariationalAutoencoder",
    "build_autoencoder",
    "build_minilm_backbone",
    "build_sampler",
    "build_schedule",
    "build_unet",
    "build_vae_parts",
    "conditional_draws",
    "forward_draws",
    "load_autoencoder",
    "load_first_stage",
    "load_minilm_weights",
    "load_sampler",
    "load_vae_decoder",
    "sample_latents",
    "save_autoencoder",
    "save_sampler",
    "save_vae",
]
