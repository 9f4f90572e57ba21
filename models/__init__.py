"""Models: the autoencoder baseline, the U-Net, the noise schedule and the DDIM task."""

from models.autoencoder import build_autoencoder
from models.ddim import DiffusionModel, load_sampler, save_sampler
from models.layers import SinusoidalEmbedding, SpatialSelfAttention
from models.noise_schedule import CosineNoiseSchedule
from models.unet import build_unet

__all__ = [
    "CosineNoiseSchedule",
    "DiffusionModel",
    "SinusoidalEmbedding",
    "SpatialSelfAttention",
    "build_autoencoder",
    "build_unet",
    "load_sampler",
    "save_sampler",
]
