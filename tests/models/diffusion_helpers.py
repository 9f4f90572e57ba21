"""A tiny DiffusionModel (16 x 16 samples) and its helpers, shared by the DDIM task and sampler tests."""

import keras
import numpy as np

from models.diffusion import DiffusionModel
from models.noise_schedule import CosineNoiseSchedule
from models.unet import build_unet


def tiny_model(seed=0, **kwargs):
    """The tiny model with seeded initial weights (``seed``), so that every test that uses it is repeatable."""
    keras.utils.set_random_seed(seed)
    network = build_unet((16, 16, 1), widths=(8, 16), block_depth=1, attention_levels=(), patch_size=2, embedding_dims=8)
    model = DiffusionModel(network, CosineNoiseSchedule(), data_mean=0.5, data_std=0.25, clip_range=(0.0, 1.0), **kwargs)
    model.compile(optimizer=keras.optimizers.AdamW(1e-3))
    return model


def blobs(n=32):
    rng = np.random.default_rng(0)
    images = np.zeros((n, 16, 16, 1), "float32")
    for i in range(n):
        row = rng.integers(2, 14)
        images[i, row - 1 : row + 1, :, 0] = 1.0  # a horizontal "harmonic" line
    return images


def perturbed(model, scale=0.05):
    """``model`` with noise added to its EMA weights, so that a fresh network gives non-trivial samples."""
    rng = np.random.default_rng(1)
    model.ema_network.set_weights([w + scale * rng.standard_normal(w.shape).astype(w.dtype) for w in model.ema_network.get_weights()])
    return model
