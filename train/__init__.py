"""Training: configs, tf.data input, distribution strategy, run folders and the two CLIs.

The names below are imported on first use (PEP 562), not with the package: the run folder
(`train.run_folder`) is read by the sampling CLIs, which start without TensorFlow and Keras.
"""

from common.numba_cache import prepare_numba_cache

prepare_numba_cache()  # before anything imports librosa: see common/numba_cache.py

__all__ = ["AutoencoderTrainConfig", "DiffusionTrainConfig", "RunFolder", "SpectrogramData", "get_strategy"]


def __getattr__(name):
    if name in ("AutoencoderTrainConfig", "DiffusionTrainConfig"):
        from train.config import AutoencoderTrainConfig, DiffusionTrainConfig

        return {"AutoencoderTrainConfig": AutoencoderTrainConfig, "DiffusionTrainConfig": DiffusionTrainConfig}[name]
    if name == "SpectrogramData":
        from train.data import SpectrogramData

        return SpectrogramData
    if name == "RunFolder":
        from train.run_folder import RunFolder

        return RunFolder
    if name == "get_strategy":
        from train.strategy import get_strategy

        return get_strategy
    raise AttributeError(f"module 'train' has no attribute {name!r}")
