"""The DDIM task: a denoising network trained on noise prediction, sampled with DDIM.

Notation (Song et al., "Denoising Diffusion Implicit Models", ICLR 2021):
    images          x_0, clean samples, standardised to zero mean and unit variance
    noises          eps ~ N(0, I)
    signal_rates    sqrt(alpha_t)
    noise_rates     sqrt(1 - alpha_t)
    noisy_images    x_t = signal_rates * x_0 + noise_rates * eps     (eq. 4 of Ho et al. 2020)
    pred_noises     eps_theta(x_t, t), the network's output
    pred_images     x_0 estimate (x_t - noise_rates * pred_noises) / signal_rates   (eq. 9)
The deterministic DDIM update (eq. 12 with sigma_t = 0) is
    x_{t-1} = signal_rates_next * pred_images + noise_rates_next * pred_noises.

The structure follows the Keras example ``examples/generative/ddim.py``: one
``keras.Model`` owns ``train_step``/``test_step``, an exponential moving average
(EMA) copy of the network used for sampling, and ``generate()``. Unlike the
example it reads the batch size from the tensor (correct per replica under
``tf.distribute``), takes its schedule as an object, and serializes fully.
"""

from pathlib import Path

import keras
import numpy as np
from keras import ops

from common.atomic import atomic_path, atomic_write_json
from common.errors import ParameterError
from common.json_file import read_json_mapping
from models.noise_schedule import CosineNoiseSchedule


@keras.saving.register_keras_serializable(package="musicgen")
class DiffusionModel(keras.Model):
    """Denoising diffusion model with DDIM sampling and EMA weights.

    Args:
        network: a functional model ``[noisy_images, noise_variances] -> pred_noises``
            (see `models.unet.build_unet`); its first input fixes ``data_shape``.
        schedule: a `CosineNoiseSchedule` (or any object with the same call and config).
        data_mean: float, mean of the training data in its stored scale.
        data_std: float > 0, standard deviation of the training data.
        ema_momentum: float in [0, 1); EMA decay, warmed up as
            ``min(ema_momentum, (1 + n) / (10 + n))`` at optimizer step n
            (TensorFlow's ``ExponentialMovingAverage`` num_updates rule).
        loss_type: ``"mae"`` (Keras example) or ``"mse"`` (Ho et al. 2020, eq. 14) on the noise.
        clip_range: optional ``(low, high)`` range of the data in its stored scale;
            generated samples are clipped to it.
    Raises:
        ParameterError: for a bad ``loss_type``, ``data_std`` or ``ema_momentum``.
    """

    def __init__(
        self,
        network,
        schedule=None,
        data_mean=0.0,
        data_std=1.0,
        ema_momentum=0.999,
        loss_type="mae",
        clip_range=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if loss_type not in ("mae", "mse"):
            raise ParameterError(f"loss_type must be 'mae' or 'mse'. Received: loss_type={loss_type!r}")
        if not data_std > 0:
            raise ParameterError(f"data_std must be > 0. Received: data_std={data_std}")
        if not 0.0 <= ema_momentum < 1.0:
            raise ParameterError(f"ema_momentum must be in [0, 1). Received: ema_momentum={ema_momentum}")
        self.network = network
        self.ema_network = keras.models.clone_model(network)
        self.ema_network.set_weights(network.get_weights())
        self.ema_network.trainable = False  # updated by the EMA rule in train_step, never by gradients
        self.schedule = schedule or CosineNoiseSchedule()
        self.data_mean = float(data_mean)
        self.data_std = float(data_std)
        self.ema_momentum = float(ema_momentum)
        self.loss_type = loss_type
        self.clip_range = None if clip_range is None else tuple(float(v) for v in clip_range)
        self.data_shape = tuple(network.inputs[0].shape[1:])
        self.noise_loss_tracker = keras.metrics.Mean(name="n_loss")
        self.image_loss_tracker = keras.metrics.Mean(name="i_loss")
        self.seed_generator = keras.random.SeedGenerator(0)
        self._compiled_denoise = None
        # both networks are functional and built; BackupAndRestore needs a built model
        self.built = True

    @property
    def metrics(self):
        return [self.noise_loss_tracker, self.image_loss_tracker]

    def call(self, inputs, training=False):
        """Predicted noises for ``[noisy_images, noise_variances]`` with the training network."""
        return self.network(inputs, training=training)

    def standardise(self, images):
        """Stored scale -> zero mean, unit variance."""
        return (images - self.data_mean) / self.data_std

    def destandardise(self, images):
        """Inverse of `standardise`, clipped to ``clip_range`` when set."""
        images = images * self.data_std + self.data_mean
        if self.clip_range is not None:
            images = ops.clip(images, self.clip_range[0], self.clip_range[1])
        return images

    def denoise(self, noisy_images, noise_rates, signal_rates, training):
        """One network evaluation: ``(pred_noises, pred_images)`` (eq. 9 of Ho et al. 2020)."""
        network = self.network if training else self.ema_network
        pred_noises = network([noisy_images, noise_rates**2], training=training)
        pred_images = (noisy_images - noise_rates * pred_noises) / signal_rates
        return pred_noises, pred_images

    def _loss(self, targets, predictions):
        if self.loss_type == "mae":
            return ops.mean(ops.abs(targets - predictions))
        return ops.mean(ops.square(targets - predictions))

    def _noised(self, images):
        images = self.standardise(images)
        batch_size = ops.shape(images)[0]
        noises = keras.random.normal(ops.shape(images), seed=self.seed_generator)
        diffusion_times = keras.random.uniform((batch_size, 1, 1, 1), seed=self.seed_generator)
        noise_rates, signal_rates = self.schedule(diffusion_times)
        noisy_images = signal_rates * images + noise_rates * noises
        return images, noises, noisy_images, noise_rates, signal_rates

    def train_step(self, images):
        """One optimisation step on a batch ``(batch, *data_shape)`` in the stored scale."""
        import tensorflow as tf

        images, noises, noisy_images, noise_rates, signal_rates = self._noised(images)
        with tf.GradientTape() as tape:
            pred_noises, pred_images = self.denoise(noisy_images, noise_rates, signal_rates, training=True)
            noise_loss = self._loss(noises, pred_noises)
        gradients = tape.gradient(noise_loss, self.network.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.network.trainable_weights))
        image_loss = self._loss(images, pred_images)

        step = ops.cast(self.optimizer.iterations, "float32")
        momentum = ops.minimum(self.ema_momentum, (1.0 + step) / (10.0 + step))
        for weight, ema_weight in zip(self.network.weights, self.ema_network.weights):
            ema_weight.assign(momentum * ema_weight + (1.0 - momentum) * weight)

        self.noise_loss_tracker.update_state(noise_loss)
        self.image_loss_tracker.update_state(image_loss)
        return {m.name: m.result() for m in self.metrics}

    def test_step(self, images):
        """Noise and image losses of the EMA network on a validation batch."""
        images, noises, noisy_images, noise_rates, signal_rates = self._noised(images)
        pred_noises, pred_images = self.denoise(noisy_images, noise_rates, signal_rates, training=False)
        self.noise_loss_tracker.update_state(self._loss(noises, pred_noises))
        self.image_loss_tracker.update_state(self._loss(images, pred_images))
        return {m.name: m.result() for m in self.metrics}

    def reverse_diffusion(self, initial_noise, diffusion_steps):
        """Deterministic DDIM sampling (Song et al. 2021, eq. 12, sigma_t = 0).

        Args:
            initial_noise: float32 ``(batch, *data_shape)``, standard normal.
            diffusion_steps: int >= 1, network evaluations.
        Returns:
            float32 ``(batch, *data_shape)``, standardised scale.
        """
        import tensorflow as tf

        if self._compiled_denoise is None:
            # tracing the EMA network once halves the per-step cost of eager calls on CPU
            self._compiled_denoise = tf.function(
                lambda x, n, s: self.denoise(x, n, s, training=False), reduce_retracing=True
            )
        num_images = ops.shape(initial_noise)[0]
        step_size = 1.0 / diffusion_steps
        next_noisy_images = initial_noise
        pred_images = initial_noise
        for step in range(diffusion_steps):
            noisy_images = next_noisy_images
            # separate the current noisy image into its components
            diffusion_times = ops.ones((num_images, 1, 1, 1)) - step * step_size
            noise_rates, signal_rates = self.schedule(diffusion_times)
            pred_noises, pred_images = self._compiled_denoise(noisy_images, noise_rates, signal_rates)
            # remix them with the rates of the next, less noisy, time
            next_noise_rates, next_signal_rates = self.schedule(diffusion_times - step_size)
            next_noisy_images = next_signal_rates * pred_images + next_noise_rates * pred_noises
        return pred_images

    def generate(self, num_images=None, diffusion_steps=20, seeds=None, batch_size=16):
        """Sample new data with the EMA network.

        Args:
            num_images: int >= 1; ignored when ``seeds`` is given.
            diffusion_steps: int >= 1, DDIM steps (more is slower and usually cleaner).
            seeds: optional list of ints, one per sample: sample ``i`` depends only on
                ``seeds[i]``, so a batch is reproducible item by item. Default ``0..num_images-1``.
            batch_size: samples per network call.
        Returns:
            float32 numpy array ``(num_images, *data_shape)`` in the stored scale
            (clipped to ``clip_range`` when set).
        Raises:
            ParameterError: if ``diffusion_steps`` < 1 or no sample is asked for.
        """
        if int(diffusion_steps) < 1:
            raise ParameterError(f"diffusion_steps must be >= 1. Received: diffusion_steps={diffusion_steps}")
        if seeds is None:
            if num_images is None or int(num_images) < 1:
                raise ParameterError(f"num_images must be >= 1. Received: num_images={num_images}")
            seeds = list(range(int(num_images)))
        if len(seeds) < 1:
            raise ParameterError("seeds must hold at least one seed. Received: seeds=[]")
        noise = np.stack(
            [np.random.default_rng(int(s)).standard_normal(self.data_shape).astype("float32") for s in seeds]
        )
        outputs = []
        for start in range(0, len(seeds), batch_size):
            images = self.reverse_diffusion(ops.convert_to_tensor(noise[start : start + batch_size]), diffusion_steps)
            outputs.append(ops.convert_to_numpy(self.destandardise(images)))
        return np.concatenate(outputs, axis=0)

    def get_config(self):
        return {
            "network": keras.saving.serialize_keras_object(self.network),
            "schedule": keras.saving.serialize_keras_object(self.schedule),
            "data_mean": self.data_mean,
            "data_std": self.data_std,
            "ema_momentum": self.ema_momentum,
            "loss_type": self.loss_type,
            "clip_range": None if self.clip_range is None else list(self.clip_range),
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["network"] = keras.saving.deserialize_keras_object(config["network"])
        config["schedule"] = keras.saving.deserialize_keras_object(config["schedule"])
        return cls(**config)


def save_sampler(model, folder):
    """Write what sampling needs, small: the EMA network and the model's other settings.

    Writes ``<folder>/network.keras`` (the EMA network, no optimizer) and
    ``<folder>/diffusion.json`` (schedule, data moments, loss, clip range), each
    atomically (temporary name, then rename).

    Args:
        model: a trained `DiffusionModel`.
        folder: destination folder (created if missing).
    Returns:
        The folder as a ``Path``.
    """
    folder = Path(folder)
    config = model.get_config()
    config.pop("network")
    with atomic_path(folder / "network.keras") as tmp:
        model.ema_network.save(tmp)
    atomic_write_json(folder / "diffusion.json", config)
    return folder


def load_sampler(folder):
    """Rebuild a `DiffusionModel` for sampling from `save_sampler`'s files.

    Args:
        folder: a folder holding ``network.keras`` and ``diffusion.json``.
    Returns:
        A `DiffusionModel` whose network and EMA network both hold the saved EMA weights.
    Raises:
        ParameterError: if either file is missing or unreadable.
    """
    folder = Path(folder)
    if not (folder / "network.keras").is_file():
        raise ParameterError(f"Model folder lacks network.keras. Received: model_dir={str(folder)!r}")
    config = read_json_mapping(folder / "diffusion.json", "Diffusion settings file")
    try:
        network = keras.saving.load_model(folder / "network.keras", compile=False, safe_mode=True)
    except Exception as err:  # a corrupt or foreign .keras archive
        raise ParameterError(f"Could not read network.keras ({err}). Received: model_dir={str(folder)!r}") from err
    config["network"] = network
    config["schedule"] = keras.saving.deserialize_keras_object(config["schedule"])
    return DiffusionModel(**config)
