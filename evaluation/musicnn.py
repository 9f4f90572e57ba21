"""musicnn, the music audio tagger of Pons and Serra, ported to Keras 3 with its trained weights.

Source: J. Pons and X. Serra, "musicnn: pre-trained convolutional neural
networks for music audio tagging", ISMIR 2019 late-breaking demo
(arXiv:1909.06654); architecture of J. Pons et al., "End-to-end learning for
music audio tagging at scale", ISMIR 2018. The layer layout below follows the
``build_musicnn`` function of the ``musicnn`` package (ISC licence) line by
line, and the weights are read from the TF1 checkpoints that ship inside that
package's wheel (install it with ``pip install --no-deps musicnn==0.1.0``;
its metadata pins an ancient numpy, its code is TF1-style, and none of that
code is imported here).

Two differences from the package's own feature extractor, both deliberate:

* the log-mel is kept in float32 (the package casts the mel power to float16
  before multiplying by 10000, which overflows to ``inf`` on loud input);
* patches are cut with ``numpy`` views instead of a quadratic concatenate.

The network itself is equal to the original graph within float32 rounding;
``tests/evaluation/test_musicnn.py`` checks it against outputs of the original graph
kept in ``tests/fixtures/musicnn_reference.npz`` (made by
``tests/fixtures/make_musicnn_reference.py``).
"""

import importlib.util
from pathlib import Path

import keras
import librosa
import numpy as np

from common.errors import ParameterError

SAMPLE_RATE = 16000  # Hz, the rate the models were trained at
N_FFT = 512
HOP_LENGTH = 256
N_MELS = 96
PATCH_FRAMES = 187  # the 3 s input of training: frames_for_seconds(3.0)
MODELS = ("MSD_musicnn", "MTT_musicnn")  # the musicnn checkpoints in the wheel (50 tags each)
EMBEDDING_DIM = 200  # width of the penultimate layer
_BN_EPSILON = 1e-3  # tf.compat.v1.layers.batch_normalization's default


def frames_for_seconds(seconds):
    """Log-mel frames musicnn reads for ``seconds`` of audio, as its package counts them.

    ``librosa.time_to_frames(seconds, sr=16000, hop_length=256, n_fft=512) + 1``; 3.0 s gives 187.
    """
    return int(librosa.time_to_frames(seconds, sr=SAMPLE_RATE, hop_length=HOP_LENGTH, n_fft=N_FFT)) + 1


def log_mel(audio, sample_rate=SAMPLE_RATE):
    """musicnn's input representation: ``log10(10000 * mel_power + 1)`` in float32.

    Args:
        audio: mono float audio ``(n_samples,)`` in [-1, 1] at ``sample_rate``.
        sample_rate: Hz; must be 16000 (resample before calling).
    Returns:
        float32 ``(n_frames, 96)``, n_frames = 1 + n_samples // 256 (centred STFT,
        n_fft 512, Slaney mel filterbank, power 2), values >= 0.
    Raises:
        ParameterError: for another sample rate, a non-1-D array or non-finite samples.
    """
    if sample_rate != SAMPLE_RATE:
        raise ParameterError(
            f"musicnn takes {SAMPLE_RATE} Hz audio; resample first. Received: sample_rate={sample_rate}"
        )
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 1:
        raise ParameterError(f"Audio must be mono, shape (n_samples,). Received: audio.shape={audio.shape}")
    if not np.all(np.isfinite(audio)):
        raise ParameterError(
            f"Audio has non-finite samples. Received: non_finite={int(np.sum(~np.isfinite(audio)))}"
        )
    mel = librosa.feature.melspectrogram(y=audio, sr=SAMPLE_RATE, n_fft=N_FFT, hop_length=HOP_LENGTH, n_mels=N_MELS)
    return np.log10(10000.0 * mel.T.astype(np.float32) + 1.0).astype(np.float32)


def patches(log_mel_spectrogram, patch_frames=PATCH_FRAMES):
    """Non-overlapping patches of ``patch_frames`` frames; a shorter tail is dropped.

    Args:
        log_mel_spectrogram: ``(n_frames, 96)`` from `log_mel`.
        patch_frames: frames per patch (187 = 3 s, the training length).
    Returns:
        float32 ``(n_frames // patch_frames, patch_frames, 96)``.
    Raises:
        ParameterError: if there is less than one patch of frames.
    """
    n_frames = log_mel_spectrogram.shape[0]
    n_patches = n_frames // patch_frames
    if n_patches < 1:
        raise ParameterError(
            f"Audio is shorter than one musicnn patch ({patch_frames} frames = "
            f"{patch_frames * HOP_LENGTH / SAMPLE_RATE:.2f} s). Received: n_frames={n_frames}"
        )
    return np.ascontiguousarray(
        log_mel_spectrogram[: n_patches * patch_frames].reshape(n_patches, patch_frames, N_MELS), dtype=np.float32
    )


def _pooled_over_frequency(x, name):
    # max over the whole frequency axis: (B, T, F, C) -> (B, T, C)
    x = keras.layers.MaxPooling2D(pool_size=(1, x.shape[2]), name=f"{name}_pool")(x)
    return keras.layers.Reshape((-1, x.shape[-1]), name=f"{name}_squeeze")(x)


def build_musicnn(num_classes=50, num_filt_midend=64, num_units_backend=200):
    """The musicnn network (front end, dense mid end, pooled back end), untrained.

    Layer names are those of the TF1 checkpoint variables, so `load_musicnn`
    can copy weights by name.

    Args:
        num_classes: tags in the output layer (50 for both packaged models).
        num_filt_midend: filters of the three mid-end convolutions (64).
        num_units_backend: units of the penultimate dense layer (200).
    Returns:
        A ``keras.Model`` from log-mel patches ``(batch, n_frames, 96)`` float32
        (any n_frames >= 1) to ``{"penultimate": (batch, num_units_backend),
        "logits": (batch, num_classes)}``; tag probabilities are ``sigmoid(logits)``.
    """
    layers = keras.layers
    batch_norm_ids = iter(range(11))
    conv_ids = iter(range(8))

    def batch_norm(x):
        index = next(batch_norm_ids)
        return layers.BatchNormalization(
            epsilon=_BN_EPSILON, name="batch_normalization" + (f"_{index}" if index else "")
        )(x)

    def conv(x, filters, kernel_size, padding):
        index = next(conv_ids)
        return layers.Conv2D(
            filters, kernel_size, padding=padding, activation="relu", name="conv2d" + (f"_{index}" if index else "")
        )(x)

    def pad_time(x, name):
        return layers.ZeroPadding2D(padding=((3, 3), (0, 0)), name=name)(x)

    inputs = keras.Input(shape=(None, N_MELS), dtype="float32", name="log_mel")
    x = batch_norm(layers.Reshape((-1, N_MELS, 1), name="expand")(inputs))

    # front end: timbral filters (7 frames x 40% / 70% of the mel bands), temporal filters (128/64/32 frames)
    padded = pad_time(x, "timbral_pad")
    front = []
    for name, width in (("f74", int(0.4 * N_MELS)), ("f77", int(0.7 * N_MELS))):
        front.append(_pooled_over_frequency(batch_norm(conv(padded, 204, (7, width), "valid")), name))
    for name, length in (("s1", 128), ("s2", 64), ("s3", 32)):
        front.append(_pooled_over_frequency(batch_norm(conv(x, 51, (length, 1), "same")), name))
    front = layers.Concatenate(axis=2, name="frontend")(front)  # (B, T, 561)
    n_front = front.shape[-1]

    # mid end: three 7-frame convolutions over all channels, with residual connections
    front = layers.Reshape((-1, n_front, 1), name="midend_expand")(front)
    mid = [front]
    previous = front
    for index in range(3):
        y = conv(pad_time(previous, f"midend{index}_pad"), num_filt_midend, (7, previous.shape[2]), "valid")
        y = layers.Permute((1, 3, 2), name=f"midend{index}_transpose")(batch_norm(y))  # (B, T, filters, 1)
        if index:
            y = layers.Add(name=f"midend{index}_residual")([y, previous])
        mid.append(y)
        previous = y
    mid = layers.Concatenate(axis=2, name="midend")(mid)  # (B, T, 561 + 3 * filters, 1)
    n_mid = mid.shape[2]
    mid = layers.Reshape((-1, n_mid), name="midend_squeeze")(mid)

    # back end: max and mean over time, interleaved per channel as tf.concat(axis=2) + flatten did
    max_pool = layers.Reshape((n_mid, 1), name="max_pool")(layers.GlobalMaxPooling1D(name="time_max")(mid))
    mean_pool = layers.Reshape((n_mid, 1), name="mean_pool")(layers.GlobalAveragePooling1D(name="time_mean")(mid))
    pooled = layers.Flatten(name="flatten")(layers.Concatenate(axis=2, name="pool")([max_pool, mean_pool]))
    pooled = batch_norm(pooled)
    penultimate = batch_norm(layers.Dense(num_units_backend, activation="relu", name="dense")(pooled))
    logits = layers.Dense(num_classes, name="dense_1")(penultimate)
    return keras.Model(inputs, {"penultimate": penultimate, "logits": logits}, name="musicnn")


def checkpoint_prefix(model_name="MSD_musicnn"):
    """Path prefix of a checkpoint inside the installed ``musicnn`` package.

    Raises:
        ParameterError: for an unknown model name, or if the package is not installed
            (the message gives the install command).
    """
    if model_name not in MODELS:
        raise ParameterError(f"Unknown musicnn model (known: {', '.join(MODELS)}). Received: model_name={model_name!r}")
    spec = importlib.util.find_spec("musicnn")  # locates the package without importing its TF1 code
    if spec is None or not spec.submodule_search_locations:
        raise ParameterError(
            "The musicnn weights come from the musicnn package: pip install --no-deps musicnn==0.1.0 "
            f"(scripts/setup.sh does). Received: model_name={model_name!r}"
        )
    folder = Path(list(spec.submodule_search_locations)[0]) / model_name
    if not (folder / ".index").is_file():
        raise ParameterError(f"The musicnn package has no checkpoint for this model. Received: path={str(folder)!r}")
    # the checkpoint's files are named ".index"/".data-*": the prefix is the folder plus "/"
    return str(folder) + "/"


def load_musicnn(model_name="MSD_musicnn"):
    """`build_musicnn` with the trained weights of ``model_name`` (see `MODELS`).

    The ``checkpoint`` file in the package points at its author's machine, so
    ``tf.train.load_checkpoint`` refuses the folder; the TF1 reader takes the
    prefix directly.

    Raises:
        ParameterError: see `checkpoint_prefix`; also if a variable is missing or
            has another shape than the network expects.
    """
    import tensorflow as tf

    prefix = checkpoint_prefix(model_name)
    reader = tf.compat.v1.train.NewCheckpointReader(prefix)
    shapes = reader.get_variable_to_shape_map()
    model = build_musicnn()
    suffixes = {
        keras.layers.BatchNormalization: ("gamma", "beta", "moving_mean", "moving_variance"),
        keras.layers.Conv2D: ("kernel", "bias"),
        keras.layers.Dense: ("kernel", "bias"),
    }
    for layer in model.layers:
        names = suffixes.get(type(layer))
        if names is None:
            continue
        values = []
        for suffix, weight in zip(names, layer.get_weights()):
            key = f"{layer.name}/{suffix}"
            if key not in shapes or tuple(shapes[key]) != weight.shape:
                raise ParameterError(
                    f"The musicnn checkpoint does not fit the network at {key} (expected shape {weight.shape}). "
                    f"Received: shape={shapes.get(key)}"
                )
            values.append(reader.get_tensor(key))
        layer.set_weights(values)
    return model
