"""Models: the networks (U-Net, autoencoder, VAE, text encoder), the noise schedules, the diffusion task and its samplers."""

from common.numba_cache import prepare_numba_cache

prepare_numba_cache()  # before anything imports librosa: see common/numba_cache.py

from models.autoencoder import build_autoencoder  # noqa: E402
from models.diffusion import DiffusionModel  # noqa: E402
from models.layers import SinusoidalEmbedding, SpatialSelfAttention  # noqa: E402
from models.noise_schedule import CosineNoiseSchedule  # noqa: E402
from models.sampler_folder import load_sampler, save_sampler  # noqa: E402
from models.samplers import DDIMInversion, DDIMSampler, InpaintingSampler  # noqa: E402
from models.unet import build_unet  # noqa: E402

__all__ = [
    "CosineNoiseSchedule",
    "DDIMInversion",
    "DDIMSampler",
    "DiffusionModel",
    "InpaintingSampler",
    "SinusoidalEmbedding",
    "SpatialSelfAttention",
    "build_autoencoder",
    "build_unet",
    "load_sampler",
    "save_sampler",
]
