"""The diffusion task: a denoising network trained on an eps, v or x0 target, with EMA weights, sampled by `models.samplers`.

Notation: `models.objective` (the targets and losses) and `models.samplers.ddim` (the
update). In short, ``signal_rates`` s = sqrt(alpha_t) and ``noise_rates`` n = sqrt(1 - alpha_t)
of Song et al., "Denoising Diffusion Implicit Models", ICLR 2021, ``noisy_images``
x_t = s * x_0 + n * eps, ``pred_noises`` and ``pred_images`` the estimates of eps and x_0.

The structure follows the Keras example ``examples/generative/ddim.py``: one
``keras.Model`` owns ``train_step``/``test_step``, an exponential moving average
(EMA) copy of the network used for sampling, and ``generate()``. Unlike the
example it reads the batch size from the tensor (correct per replica under
``tf.distribute``), takes its schedule as an object, serializes fully, and leaves
the sampling steps to sampler objects (`models.samplers`: DDIM with eta, inpainting,
inversion), to which ``generate``, ``inpaint`` and ``invert_to_noise`` hand the EMA
network's (conditioned, guided) denoiser.
"""

import keras
from keras import ops

from common.errors import ParameterError
from models import sampling
from models.conditioning import (
    as_list,
    check_conditioning,
    check_guidance_interval,
    check_guidance_rescale,
    check_guidance_scale,
    class_indices,
    legacy_conditioning,
    limit_guidance_to_interval,
    network_inputs,
    null_conditions,
    prompt_tokens,
    rescale_guidance,
)
from models.noise_schedule import CosineNoiseSchedule
from models.objective import (
    LOSS_TYPES,
    PREDICTIONS,
    estimates,
    min_snr_weights,
    per_sample_loss,
    prediction_targets,
    regression_loss,
    spectral_norm_loss,
    time_derivative_loss,
)
from models.samplers import DDIMSampler
from models.self_conditioning import TRAINING_PROBABILITY as SELF_CONDITION_PROBABILITY
from models.self_conditioning import SelfConditionedDenoiser, takes_previous_images, training_previous_images


def _check_settings(data_std, ema_momentum, loss_type, prediction, min_snr_gamma, spectral_norm_weight,
                    time_derivative_weight):
    if loss_type not in LOSS_TYPES:
        raise ParameterError(f"loss_type must be 'mae' or 'mse'. Received: loss_type={loss_type!r}")
    if not data_std > 0:
        raise ParameterError(f"data_std must be > 0. Received: data_std={data_std}")
    if not 0.0 <= ema_momentum < 1.0:
        raise ParameterError(f"ema_momentum must be in [0, 1). Received: ema_momentum={ema_momentum}")
    if prediction not in PREDICTIONS:
        raise ParameterError(f"prediction must be one of {PREDICTIONS}. Received: prediction={prediction!r}")
    if min_snr_gamma is not None and not (isinstance(min_snr_gamma, (int, float)) and 0 < min_snr_gamma < float("inf")):
        raise ParameterError(f"min_snr_gamma must be null or a number > 0. Received: min_snr_gamma={min_snr_gamma!r}")
    for name, value in (("spectral_norm_weight", spectral_norm_weight), ("time_derivative_weight", time_derivative_weight)):
        if not 0.0 <= value < float("inf"):
            raise ParameterError(f"{name} must be a number >= 0. Received: {name}={value!r}")


@keras.saving.register_keras_serializable(package="musicgen")
class DiffusionModel(keras.Model):
    """Denoising diffusion model with EMA weights: objective, ``train_step``, conditioning; sampling by `models.samplers`.

    Args:
        network: a functional model ``[noisy_images, noise_variances, *conditions] -> outputs``
            (see `models.unet.build_unet`); its first input fixes ``data_shape``,
            and its output is the ``prediction`` target.
        schedule: a schedule of `models.noise_schedule` (default: the offset cosine
            `CosineNoiseSchedule`), or any object with the same call and config.
        data_mean: float, mean of the training data in its stored scale.
        data_std: float > 0, standard deviation of the training data.
        ema_momentum: float in [0, 1); EMA decay, warmed up as
            ``min(ema_momentum, (1 + n) / (10 + n))`` at optimizer step n
            (TensorFlow's ``ExponentialMovingAverage`` num_updates rule).
        loss_type: ``"mae"`` (Keras example) or ``"mse"`` (Ho et al. 2020, eq. 14) on the target.
        clip_range: optional ``(low, high)`` range of the data in its stored scale;
            generated samples are clipped to it.
        prediction: the network's target: ``"eps"`` (the noise, Ho et al. 2020; the
            default and the shipped model's), ``"v"`` (Salimans and Ho 2022) or ``"x0"``
            (the standardised clean sample); see `models.objective`.
        min_snr_gamma: None (every time weighted 1) or float > 0: the Min-SNR-gamma
            loss weight of Hang et al., "Efficient Diffusion Training via Min-SNR
            Weighting Strategy", ICCV 2023 (gamma = 5 there), see `snr_weights`.
        spectral_norm_weight: float >= 0, weight of `models.objective.spectral_norm_loss`
            between the predicted and real clean spectrograms (stored scale) in the objective.
        time_derivative_weight: float >= 0, weight of `models.objective.time_derivative_loss`
            between them in the objective.
        class_names: class-conditional models: the name of each class of the network
            (default ``"0"``, ``"1"``, ...); given, they make ``conditioning`` default to ``"label"``.
        conditioning: None (unconditional), ``"label"`` (class-conditional: the network takes
            ``class_labels``), ``"text"`` (the network takes ``context_tokens`` and
            ``context_mask``) or ``"mask"`` (the network takes ``known_images`` and
            ``known_mask``: trained on `models.training_draws.mask_draws`, it fills the unknown
            part of a sample in `inpaint`; Palette, Saharia et al. 2022); see
            `models.conditioning`. Default: ``"label"`` with ``class_names``, else None.
    Raises:
        ParameterError: for a bad ``loss_type``, ``data_std``, ``ema_momentum``,
            ``prediction``, ``min_snr_gamma`` or auxiliary weight, a ``conditioning`` whose
            inputs the network does not take, or ``class_names`` that do not name its classes.
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
        prediction="eps",
        min_snr_gamma=None,
        spectral_norm_weight=0.0,
        time_derivative_weight=0.0,
        class_names=None,
        conditioning=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _check_settings(data_std, ema_momentum, loss_type, prediction, min_snr_gamma, spectral_norm_weight,
                        time_derivative_weight)
        if conditioning is None and class_names:
            conditioning = "label"
        # num_classes: the "no label" index; context_shape: (tokens, context_dims) of the prompts
        self.num_classes, self.class_names, self.context_shape = check_conditioning(network, conditioning, class_names)
        self.conditioning = conditioning
        # a network with a previous_images input is self-conditioned (models.self_conditioning)
        self.self_conditioning = takes_previous_images(network)
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
        self.prediction = prediction
        self.min_snr_gamma = None if min_snr_gamma is None else float(min_snr_gamma)
        self.spectral_norm_weight = float(spectral_norm_weight)
        self.time_derivative_weight = float(time_derivative_weight)
        self.data_shape = tuple(network.inputs[0].shape[1:])
        self.noise_loss_tracker = keras.metrics.Mean(name="n_loss")
        self.image_loss_tracker = keras.metrics.Mean(name="i_loss")
        # the differentiated objective, reported only when it is not simply n_loss (so that
        # the default model's metrics, history columns and checkpoints are as before)
        self.objective_tracker = None if self._objective_is_noise_loss else keras.metrics.Mean(name="loss")
        self.seed_generator = keras.random.SeedGenerator(0)
        self._compiled_denoisers = {}  # (conditioning, guidance scale, rescale, clip, interval) -> traced denoiser, see ema_denoiser
        # both networks are functional and built; BackupAndRestore needs a built model
        self.built = True

    @property
    def _objective_is_noise_loss(self):
        return (
            self.prediction == "eps"
            and self.min_snr_gamma is None
            and not self.spectral_norm_weight
            and not self.time_derivative_weight
        )

    @property
    def metrics(self):
        if self.objective_tracker is None:
            return [self.noise_loss_tracker, self.image_loss_tracker]
        return [self.objective_tracker, self.noise_loss_tracker, self.image_loss_tracker]

    def call(self, inputs, training=False):
        """Raw network output (the ``prediction`` target) for ``[noisy_images, noise_variances, *conditions]``."""
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

    # === Conditioning ===

    def null_conditions(self, batch):
        """The "no condition" of classifier-free guidance for ``batch`` samples (`models.conditioning.null_conditions`)."""
        return null_conditions(self.conditioning, batch, self.num_classes, self.context_shape, self.data_shape)

    def label_indices(self, labels, count, guidance_scale=1.0):
        """Class indices int32 ``(count,)`` for ``labels`` (None, one label, or one per sample), or None.

        Raises:
            ParameterError: for ``guidance_scale`` < 0 (or not a number), labels for a model
                that is not class-conditional, a label that is not one of its classes (the
                classes are named), or a list whose length is not ``count``.
        """
        check_guidance_scale(guidance_scale)
        return class_indices(labels, count, self.conditioning, self.class_names)

    def prompt_context(self, context, count):
        """``(tokens (count, T, D), mask (count, T))`` float32 for a text model's ``context``, or None.

        Raises:
            ParameterError: for a context given to a model that is not text-conditional, or
                of another shape than the model's ``(T, D)`` (`models.conditioning.prompt_tokens`).
        """
        return prompt_tokens(context, count, self.conditioning, self.context_shape)

    def _network_inputs(self, noisy_images, noise_rates, conditions, previous_images=None):
        if self.conditioning is not None and conditions is None:  # unconditional sampling of a conditional model
            conditions = self.null_conditions(ops.shape(noisy_images)[0])
        inputs = network_inputs(self.conditioning, noisy_images, noise_rates, conditions)
        if self.self_conditioning:
            inputs.append(ops.zeros_like(noisy_images) if previous_images is None else previous_images)
        return inputs

    def _predict(self, noisy_images, noise_rates, signal_rates, training, labels=None, guidance_scale=1.0,
                 guidance_rescale=0.0, guidance_interval=None, previous_images=None):
        """``(outputs, pred_noises, pred_images)``: the raw target and both estimates (`models.objective.estimates`).

        ``labels`` are the conditions: int32 ``(batch,)`` class indices, or for a text model a
        ``(tokens (batch, T, D), mask (batch, T))`` pair. With them and ``guidance_scale`` != 1 the output is
        classifier-free guided: ``out = out_null + w * (out_label - out_null)`` (Ho and Salimans
        2022, eq. 6, with w = 1 + their w), from one network call on the doubled batch.
        The estimates are linear in the output, so guiding the eps, v or x0 output is the
        same as guiding eps. ``guidance_rescale`` (phi in [0, 1]) then pulls the guided output's
        per-sample standard deviation back towards the conditional output's, against the
        over-exposure strong guidance causes (`rescale_guidance`; Lin et al. 2024). ``guidance_interval``
        (None, or ``(low, high)``) keeps that guided output only at noise levels in (low, high] and
        the conditional one elsewhere (`limit_guidance_to_interval`; Kynkäänniemi et al. 2024).
        ``previous_images`` (self-conditioned networks only; None: zeros) is the x0 estimate of the step
        before, standardised (`models.self_conditioning`); both halves of a guided batch get it.
        """
        network = self.network if training else self.ema_network
        if labels is None or guidance_scale == 1.0:
            outputs = network(self._network_inputs(noisy_images, noise_rates, labels, previous_images), training=training)
        elif guidance_scale == 0.0 and guidance_interval is None:  # the unconditional output alone: no need for the conditional half
            null = as_list(self.null_conditions(ops.shape(noisy_images)[0]))
            conditions = null[0] if self.conditioning == "label" else tuple(null)
            outputs = network(self._network_inputs(noisy_images, noise_rates, conditions, previous_images),
                              training=training)
        else:
            batch = ops.shape(noisy_images)[0]
            doubled_conditions = [ops.concatenate([ops.cast(c, n.dtype), n], axis=0)
                                  for c, n in zip(as_list(labels), as_list(self.null_conditions(batch)))]
            doubled = self._network_inputs(
                ops.concatenate([noisy_images, noisy_images], axis=0),
                ops.concatenate([noise_rates, noise_rates], axis=0),
                doubled_conditions[0] if self.conditioning == "label" else tuple(doubled_conditions),
                None if previous_images is None else ops.concatenate([previous_images, previous_images], axis=0),
            )
            both = network(doubled, training=training)
            conditional, unconditional = both[:batch], both[batch:]
            outputs = unconditional + guidance_scale * (conditional - unconditional)
            if guidance_rescale:
                outputs = rescale_guidance(outputs, conditional, guidance_rescale)
            if guidance_interval is not None:
                outputs = limit_guidance_to_interval(outputs, conditional, guidance_interval, noise_rates, signal_rates)
        return (outputs,) + estimates(self.prediction, outputs, noisy_images, noise_rates, signal_rates)

    def denoise(self, noisy_images, noise_rates, signal_rates, training, labels=None, guidance_scale=1.0,
                guidance_rescale=0.0, guidance_interval=None, previous_images=None):
        """One network evaluation: ``(pred_noises, pred_images)``, both ``(batch, *data_shape)``.

        ``labels``: None, or the conditions of `_predict` (guided by ``guidance_scale``, rescaled by
        ``guidance_rescale``, at the noise levels of ``guidance_interval``); ``previous_images``: a
        self-conditioned network's last estimate (None: zeros).
        """
        _, pred_noises, pred_images = self._predict(
            noisy_images, noise_rates, signal_rates, training, labels, guidance_scale, guidance_rescale,
            guidance_interval, previous_images,
        )
        return pred_noises, pred_images

    # === Objective and training ===

    def targets(self, images, noises, noise_rates, signal_rates):
        """The regression target of ``prediction`` (`models.objective.prediction_targets`)."""
        return prediction_targets(self.prediction, images, noises, noise_rates, signal_rates)

    def snr_weights(self, noise_rates, signal_rates):
        """Min-SNR-gamma loss weights for ``prediction`` and ``min_snr_gamma``, float32 ``(batch,)``
        (`models.objective.min_snr_weights`, Hang et al. 2023)."""
        return min_snr_weights(self.prediction, self.min_snr_gamma, noise_rates, signal_rates)

    def objective(self, images, noises, noisy_images, noise_rates, signal_rates, training=True, labels=None,
                  previous_images=None):
        """The differentiated training loss and the two estimates.

        ``loss(target, output)`` (``loss_type``, per sample times `snr_weights` when
        ``min_snr_gamma`` is set, mean over the batch) plus ``spectral_norm_weight *
        spectral_norm_loss`` and ``time_derivative_weight * time_derivative_loss``
        between the predicted and real clean spectrograms in the stored scale
        (unclipped). Call it inside the ``GradientTape``.

        Args:
            images, noises, noisy_images: float32 ``(batch, *data_shape)``, standardised.
            noise_rates, signal_rates: float32 ``(batch, 1, 1, 1)``.
            training: True for the trained network, False for the EMA one.
            labels: None, or the conditions (a class-conditional model's int32 ``(batch,)``
                class indices, the "no label" class ``num_classes`` where dropped,
                `models.training_draws.conditional_draws`; a text model's tokens and mask).
            previous_images: self-conditioned networks: float32 ``(batch, *data_shape)``, the
                estimates of `_self_condition` (None: zeros).
        Returns:
            ``(loss, pred_noises, pred_images)``: a scalar and two ``(batch, *data_shape)`` tensors.
        """
        outputs, pred_noises, pred_images = self._predict(noisy_images, noise_rates, signal_rates, training, labels,
                                                          previous_images=previous_images)
        targets = self.targets(images, noises, noise_rates, signal_rates)
        if self.min_snr_gamma is None:
            loss = regression_loss(self.loss_type, targets, outputs)
        else:
            weights = self.snr_weights(noise_rates, signal_rates)
            loss = ops.mean(weights * per_sample_loss(self.loss_type, targets, outputs))
        if self.spectral_norm_weight or self.time_derivative_weight:
            real = images * self.data_std + self.data_mean
            predicted = pred_images * self.data_std + self.data_mean
            if self.spectral_norm_weight:
                loss = loss + self.spectral_norm_weight * spectral_norm_loss(real, predicted)
            if self.time_derivative_weight:
                loss = loss + self.time_derivative_weight * time_derivative_loss(real, predicted)
        return loss, pred_noises, pred_images

    def _noised(self, images, noises=None, diffusion_times=None):
        images = self.standardise(images)
        batch_size = ops.shape(images)[0]
        if noises is None:
            noises = keras.random.normal(ops.shape(images), seed=self.seed_generator)
            diffusion_times = keras.random.uniform((batch_size, 1, 1, 1), seed=self.seed_generator)
        noise_rates, signal_rates = self.schedule(diffusion_times)
        noisy_images = signal_rates * images + noise_rates * noises
        return images, noises, noisy_images, noise_rates, signal_rates

    def _update_metrics(self, objective, noises, pred_noises, images, pred_images):
        if self.objective_tracker is not None:
            self.objective_tracker.update_state(objective)
        self.noise_loss_tracker.update_state(regression_loss(self.loss_type, noises, pred_noises))
        self.image_loss_tracker.update_state(regression_loss(self.loss_type, images, pred_images))
        return {m.name: m.result() for m in self.metrics}

    def _unpack(self, data):
        """``(labels, (images, noises, noisy_images, noise_rates, signal_rates))`` of a batch.

        A batch is a tensor of images, the ``(images, noises, diffusion_times)`` of
        `models.training_draws.forward_draws`, or those and the conditions of
        `models.training_draws.conditional_draws`: a label, or a prompt's tokens and mask; or
        the mask of `models.training_draws.mask_draws`, from which the known values are the
        standardised images where it is 1.
        """
        if not isinstance(data, (tuple, list)):
            return None, self._noised(data)
        images, noises, diffusion_times, *conditions = data
        noised = self._noised(images, noises, diffusion_times)
        if not conditions:
            labels = None
        elif self.conditioning == "mask":
            mask = ops.cast(conditions[0], noised[0].dtype)
            labels = (noised[0] * mask, mask)
        else:
            labels = conditions[0] if self.conditioning == "label" else tuple(conditions)
        return labels, noised

    def _self_condition(self, noisy_images, noise_rates, signal_rates, training, labels):
        """A training or validation batch's ``previous_images`` (None for a network without self-conditioning).

        A first pass with zeros gives the x0 estimates (Chen et al. 2023, Algorithm 1); in training
        a share `SELF_CONDITION_PROBABILITY` of the samples keep them, the others get zeros
        (`models.self_conditioning.training_previous_images`); validation gives every sample its
        estimate, as sampling does after the first step. No gradient flows through the first pass.
        """
        if not self.self_conditioning:
            return None
        _, _, first_images = self._predict(noisy_images, noise_rates, signal_rates, training, labels)
        probability = SELF_CONDITION_PROBABILITY if training else 1.0
        return training_previous_images(first_images, probability, self.seed_generator)

    def train_step(self, data):
        """One optimisation step on a batch (``(batch, *data_shape)`` images in the stored scale, or `forward_draws` tuples).

        The loss is divided by the number of replicas before differentiation, since the
        optimizer sums the replicas' gradients (``tf.distribute``), and multiplied by the
        loss scale when the optimizer is a ``LossScaleOptimizer`` (``mixed_float16``: the
        optimizer divides it out again and skips steps whose gradients are not finite;
        Micikevicius et al., "Mixed Precision Training", ICLR 2018, Sec. 3.2).
        """
        import tensorflow as tf

        labels, (images, noises, noisy_images, noise_rates, signal_rates) = self._unpack(data)
        previous_images = self._self_condition(noisy_images, noise_rates, signal_rates, True, labels)
        with tf.GradientTape() as tape:
            loss, pred_noises, pred_images = self.objective(
                images, noises, noisy_images, noise_rates, signal_rates, training=True, labels=labels,
                previous_images=previous_images,
            )
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            scaled_loss = self.optimizer.scale_loss(loss / replicas)
        gradients = tape.gradient(scaled_loss, self.network.trainable_weights)
        self.optimizer.apply_gradients(zip(gradients, self.network.trainable_weights))

        step = ops.cast(self.optimizer.iterations, "float32")
        momentum = ops.minimum(self.ema_momentum, (1.0 + step) / (10.0 + step))
        for weight, ema_weight in zip(self.network.weights, self.ema_network.weights):
            ema_weight.assign(momentum * ema_weight + (1.0 - momentum) * weight)
        return self._update_metrics(loss, noises, pred_noises, images, pred_images)

    def test_step(self, data):
        """The objective, noise and image losses of the EMA network on a validation batch (as `train_step` takes)."""
        labels, (images, noises, noisy_images, noise_rates, signal_rates) = self._unpack(data)
        previous_images = self._self_condition(noisy_images, noise_rates, signal_rates, False, labels)
        loss, pred_noises, pred_images = self.objective(
            images, noises, noisy_images, noise_rates, signal_rates, training=False, labels=labels,
            previous_images=previous_images,
        )
        return self._update_metrics(loss, noises, pred_noises, images, pred_images)

    # === Sampling (models.samplers) ===

    def reverse_diffusion(self, initial_noise, diffusion_steps, eta=0.0, step_noise=None, labels=None, guidance_scale=1.0):
        """DDIM sampling with the EMA network (`models.samplers.ddim.DDIMSampler`, Song et al. 2021, eq. 12 and 16).

        Args:
            initial_noise: float32 ``(batch, *data_shape)``, standard normal.
            diffusion_steps: int >= 1, network evaluations.
            eta: float in [0, 1]; 0 is deterministic DDIM, 1 DDPM-like ancestral sampling.
            step_noise: callable ``() -> float32 (batch, *data_shape)`` standard normal,
                the ``z`` of each stochastic step (needed when ``eta > 0``; not called
                for the last step, whose remix is not used).
            labels: None, or the conditions of `_predict` (class indices or a prompt's tokens and mask).
            guidance_scale: float >= 0, classifier-free guidance weight (`_predict`).
        Returns:
            float32 ``(batch, *data_shape)``, standardised scale: the x0 estimate of the last step.
        Raises:
            ParameterError: for ``diffusion_steps`` < 1 or ``eta`` outside [0, 1].
        """
        sampler = DDIMSampler(self.schedule, diffusion_steps, eta)
        return sampler.sample(self.ema_denoiser(labels, guidance_scale), initial_noise, step_noise)

    def generate(self, num_images=None, diffusion_steps=20, seeds=None, batch_size=16, eta=0.0, labels=None,
                 guidance_scale=1.0, context=None, sampler="ddim", guidance_rescale=0.0, clip_sample=False,
                 guidance_interval=None):
        """Sample new data with the EMA network and a sampler (DDIM by default): float32 numpy
        ``(num_images, *data_shape)``, stored scale.

        Arguments, result and errors: `models.sampling.generate`.
        """
        return sampling.generate(
            self, num_images, diffusion_steps, seeds, batch_size, eta, labels, guidance_scale, context, sampler,
            guidance_rescale, clip_sample, guidance_interval,
        )

    def inpaint(self, known, mask, diffusion_steps=20, seeds=None, eta=0.0, resample=1, initial_noise=None):
        """Masked DDIM (RePaint): ``known`` with its unknown part filled, float32 numpy, stored scale.

        Arguments, result and errors: `models.sampling.inpaint`.
        """
        return sampling.inpaint(self, known, mask, diffusion_steps, seeds, eta, resample, initial_noise)

    def invert_to_noise(self, images, diffusion_steps=20):
        """DDIM inversion: the standardised noise from which DDIM sampling gives back ``images`` (stored scale).

        Arguments, result and errors: `models.sampling.invert_to_noise`.
        """
        return sampling.invert_to_noise(self, images, diffusion_steps)

    def ema_denoiser(self, labels=None, guidance_scale=1.0, guidance_rescale=0.0, clip_sample=False,
                     guidance_interval=None):
        """The traced EMA-network call ``(x_t, n, s) -> (pred_noises, pred_images)``: the denoiser of `models.samplers`.

        ``labels`` (int32 ``(batch,)``, a text model's ``(tokens, mask)`` pair, or a mask model's
        ``(known, mask)``), ``guidance_scale``, ``guidance_rescale`` and ``guidance_interval`` (None: guided
        at every step; ``(low, high)``: only where low < noise_rate / signal_rate <= high, Kynkäänniemi et
        al. 2024, `models.conditioning.limit_guidance_to_interval`) condition it. ``clip_sample`` (static thresholding, Saharia et al., "Photorealistic
        Text-to-Image Diffusion Models with Deep Language Understanding", NeurIPS 2022, Sec. 2.3; diffusers'
        ``clip_sample``): every x0 estimate is clipped to the data's range (``clip_range``, standardised) and the
        noise estimate made consistent with it, eps = (x_t - s * x0) / n, so that strong guidance cannot push the
        estimates beyond what the data holds. Each kind of condition and guidance is traced once, the first time
        it is used, for any batch size (the signature's batch axis is None), so no later batch, step or call
        traces again. Autograph is off: nothing in the network's call branches on a tensor, and converting the
        call took most of the trace (shipped DDIM, 2-core CPU: 0.56 s with, 0.17 s without). A self-conditioned
        network's denoiser is a `models.self_conditioning.SelfConditionedDenoiser`, new at every call of this
        method: it feeds each step's x0 estimate to the next (Chen et al. 2023, Algorithm 2).

        Raises:
            ParameterError: for a ``guidance_rescale`` outside [0, 1], a ``guidance_interval`` that is not
                None or ``(low, high)`` with 0 <= low < high, or ``clip_sample`` for a model without
                ``clip_range`` (a latent model: its data have no bounds).
        """
        import tensorflow as tf

        kind = None if labels is None else self.conditioning
        scale = 1.0 if labels is None else float(guidance_scale)  # a Python float: no doubled batch at 1
        rescale = 0.0 if labels is None else check_guidance_rescale(guidance_rescale)
        interval = None if labels is None or scale == 1.0 else check_guidance_interval(guidance_interval)
        bounds = self._standardised_clip_range() if clip_sample else None
        key = (kind, scale, rescale, bool(clip_sample), interval)
        if key not in self._compiled_denoisers:
            rates = tf.TensorSpec((None, 1, 1, 1), tf.float32)
            signature = [tf.TensorSpec((None,) + tuple(self.data_shape), tf.float32), rates, rates]
            if kind == "label":
                signature.append(tf.TensorSpec((None,), tf.int32))
            elif kind == "text":
                tokens, dims = self.context_shape
                signature.append((tf.TensorSpec((None, tokens, dims), tf.float32), tf.TensorSpec((None, tokens), tf.float32)))
            elif kind == "mask":
                signature.append((signature[0], signature[0]))
            if self.self_conditioning:  # the step before's estimate, after x_t and the rates
                signature.insert(3, signature[0])

            def denoise(x, n, s, *rest):
                previous, conditions = (rest[0], rest[1:]) if self.self_conditioning else (None, rest)
                pred_noises, pred_images = self.denoise(x, n, s, False, conditions[0] if conditions else None, scale, rescale,
                                                        interval, previous)
                if bounds is not None:
                    pred_images = ops.clip(pred_images, bounds[0], bounds[1])
                    pred_noises = (x - s * pred_images) / n
                return pred_noises, pred_images

            # tracing the EMA network once halves the per-step cost of eager calls on CPU
            self._compiled_denoisers[key] = tf.function(denoise, input_signature=signature, autograph=False)
        compiled = self._compiled_denoisers[key]
        if self.self_conditioning:  # a new state for every sampling run
            return SelfConditionedDenoiser(compiled, () if labels is None else (labels,))
        if labels is None:
            return compiled
        return lambda x, n, s: compiled(x, n, s, labels)

    def _standardised_clip_range(self):
        """``clip_range`` in the standardised scale: the bounds of `ema_denoiser`'s ``clip_sample``."""
        if self.clip_range is None:
            raise ParameterError("clip_sample needs the data's range, and this model has none (a latent model). "
                                 "Received: clip_sample=True")
        low, high = self.clip_range
        return (low - self.data_mean) / self.data_std, (high - self.data_mean) / self.data_std

    # === Config ===

    def get_config(self):
        return {
            "network": keras.saving.serialize_keras_object(self.network),
            "schedule": keras.saving.serialize_keras_object(self.schedule),
            "data_mean": self.data_mean,
            "data_std": self.data_std,
            "ema_momentum": self.ema_momentum,
            "loss_type": self.loss_type,
            "clip_range": None if self.clip_range is None else list(self.clip_range),
            "prediction": self.prediction,
            "min_snr_gamma": self.min_snr_gamma,
            "spectral_norm_weight": self.spectral_norm_weight,
            "time_derivative_weight": self.time_derivative_weight,
            "class_names": self.class_names,
            "conditioning": self.conditioning,
            "name": self.name,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["network"] = keras.saving.deserialize_keras_object(config["network"])
        config = legacy_conditioning(config, config["network"])
        config["schedule"] = keras.saving.deserialize_keras_object(config["schedule"])
        return cls(**config)
