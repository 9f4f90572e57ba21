"""Choosing the ``tf.distribute`` strategy that models and optimizers are built under."""

import tensorflow as tf

from common.errors import ParameterError


def get_strategy(name="auto"):
    """Return a ``tf.distribute.Strategy``.

    Args:
        name: ``"auto"`` (MirroredStrategy over the visible GPUs when there are two or
            more, else the default strategy), ``"default"`` (no distribution: one
            device), or ``"mirrored"`` (MirroredStrategy over the visible GPUs, or over
            the logical CPU devices when there is no GPU).
    Returns:
        The strategy; build the model and optimizer inside ``strategy.scope()``.
    Raises:
        ParameterError: for an unknown name.
    """
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        return tf.distribute.MirroredStrategy() if len(gpus) > 1 else tf.distribute.get_strategy()
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        if gpus:
            return tf.distribute.MirroredStrategy()
        return tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")])
    raise ParameterError(f"Unknown strategy. Expected auto, default or mirrored. Received: strategy={name!r}")
