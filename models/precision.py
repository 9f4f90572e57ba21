"""Sampling precision: a bfloat16 copy of a trained float32 network, for faster sampling on CPUs
that compute in bfloat16 natively.

Weights stay float32 (Keras's ``mixed_bfloat16`` policy: float32 variables, bfloat16 compute); the
copy's layers multiply in bfloat16 (8 significant bits), except the layers in `FLOAT32_LAYERS`, whose
inputs need more: the noise-level embedding takes ``sin(2 pi f x)`` with f up to 1000, which in
bfloat16 would lose the noise level. The normalization layers (Keras's and `models.group_norm`'s) take
their moments in float32 by themselves. The copy's outputs are cast back to float32, so the sampler's
arithmetic is unchanged.

Measured on the shipped default (docs/MEASUREMENTS.md, "bfloat16 sampling"): the network's
outputs differ from float32 by about 1 % of their mean magnitude.
"""

import keras
from keras import ops

from common.errors import ParameterError
from models.layers import SinusoidalEmbedding

PRECISIONS = ("auto", "float32", "bfloat16")
FLOAT32_LAYERS = (SinusoidalEmbedding, keras.layers.InputLayer)  # kept in float32 in a bfloat16 copy
CPU_FLAGS_FILE = "/proc/cpuinfo"
NATIVE_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")  # x86 CPU flags of bfloat16 arithmetic in hardware


def native_bfloat16(cpu_flags_file=CPU_FLAGS_FILE) -> bool:
    """True when this machine computes in bfloat16 natively: no GPU visible to TensorFlow, and an x86
    CPU whose flags (Linux ``/proc/cpuinfo``) include ``avx512_bf16`` or ``amx_bf16``.

    Elsewhere (another OS, a CPU without them, a GPU) False: emulated bfloat16 can be slower than
    float32, and a GPU's float32 is not the bottleneck this exists for.
    """
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return False
    try:
        with open(cpu_flags_file, encoding="utf-8", errors="replace") as file:
            text = file.read()
    except OSError:
        return False
    flags = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.partition(":")[2].split())
    return any(flag in flags for flag in NATIVE_BFLOAT16_FLAGS)


def resolve_precision(precision) -> str:
    """``"float32"`` or ``"bfloat16"`` for ``precision`` in `PRECISIONS` (``"auto"``: bfloat16 where
    `native_bfloat16`, else float32).

    Raises:
        ParameterError: naming ``precision`` when it is not one of `PRECISIONS`.
    """
    if precision not in PRECISIONS:
        raise ParameterError(f"precision must be one of {PRECISIONS}. Received: precision={precision!r}")
    if precision == "auto":
        return "bfloat16" if native_bfloat16() else "float32"
    return precision


def bfloat16_copy(network: keras.Model) -> keras.Model:
    """A copy of the functional ``network`` that computes in bfloat16 and returns float32.

    Args:
        network: a functional Keras model with float32 weights (e.g. a `models.unet.build_unet` U-Net).
    Returns:
        A ``keras.Model`` with the same inputs (dtypes unchanged), the same weights (float32 variables),
        every layer but `FLOAT32_LAYERS` under the ``mixed_bfloat16`` policy, and each output cast to
        float32. Not trainable (it is for sampling).
    """
    def clone_layer(layer):
        config = layer.get_config()
        if not isinstance(layer, FLOAT32_LAYERS):
            config["dtype"] = "mixed_bfloat16"
        return layer.__class__.from_config(config)

    clone = keras.models.clone_model(network, clone_function=clone_layer)
    clone.set_weights(network.get_weights())
    outputs = [ops.cast(output, "float32") for output in keras.tree.flatten(clone(network.inputs))]
    copy = keras.Model(network.inputs, outputs[0] if len(outputs) == 1 else outputs,
                       name=f"{network.name}_bfloat16")
    copy.trainable = False
    return copy
