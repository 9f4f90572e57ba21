"""Training: configs, tf.data input, distribution strategy, run folders and the two CLIs."""

from common.numba_cache import prepare_numba_cache

prepare_numba_cache()  # before anything imports librosa: see common/numba_cache.py

from train.config import AutoencoderTrainConfig, DiffusionTrainConfig  # noqa: E402
from train.data import SpectrogramData  # noqa: E402
from train.strategy import get_strategy  # noqa: E402

__all__ = ["AutoencoderTrainConfig", "DiffusionTrainConfig", "SpectrogramData", "get_strategy"]
