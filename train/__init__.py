"""Training: configs, tf.data input, distribution strategy, the training loop, checkpoints, callbacks, run folders
and the two CLIs (``python -m train.diffusion``, ``python -m train.autoencoder``).

The names below are imported on first use (PEP 562, `common.lazy_exports`), not with the package: the run folder
(`train.run_folder`) is read by the sampling CLIs, which start without TensorFlow and Keras.
"""

from common.lazy_exports import lazy_exports
from common.numba_cache import prepare_numba_cache

prepare_numba_cache()  # before anything imports librosa: see common/numba_cache.py

_EXPORTS = {
    "AutoencoderTrainConfig": "train.config",
    "DiffusionTrainConfig": "train.config",
    "PRESETS": "train.config",
    "TrainingOptions": "train.config",
    "LearningRateLogger": "train.callbacks",
    "SpectrogramSamples": "train.callbacks",
    "TimeBudget": "train.callbacks",
    "TrainingCheckpoint": "train.checkpoint",
    "SpectrogramData": "train.data",
    "fit": "train.loop",
    "fit_on_data": "train.loop",
    "plot_history": "train.history_plot",
    "RunFolder": "train.run_folder",
    "get_strategy": "train.strategy",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
