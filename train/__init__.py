"""Training: configs, tf.data input, distribution strategy, run folders and the two CLIs."""

from train.config import AutoencoderTrainConfig, DiffusionTrainConfig
from train.data import SpectrogramData
from train.strategy import get_strategy

__all__ = ["AutoencoderTrainConfig", "DiffusionTrainConfig", "SpectrogramData", "get_strategy"]
