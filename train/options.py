"""Speed and schedule switches shared by both training CLIs (issue 5).

The keys are the fields of `train.config.TrainingOptions` (README, "Configuration
keys"); their defaults leave training exactly as before:
    learning_rate_schedule, warmup_steps, decay_steps, min_learning_rate: the
        optimizer's learning rate, a `keras.optimizers.schedules` object or a float.
    gradient_clip_norm: the optimizer's ``global_clipnorm``.
    mixed_precision: the global Keras dtype policy while the model is built and trained.
    jit_compile: passed to ``model.compile``.
"""

import contextlib

import keras

LEARNING_RATE_SCHEDULES = ("constant", "cosine")
MIXED_PRECISION_POLICIES = ("mixed_float16", "mixed_bfloat16")


def decay_steps(config):
    """Optimizer steps of the cosine decay: ``decay_steps``, or the run's steps after the warm-up (at least 1)."""
    if config.decay_steps is not None:
        return config.decay_steps
    return max(1, config.epochs * config.steps_per_epoch - config.warmup_steps)


def learning_rate(config):
    """The optimizer's ``learning_rate`` argument for ``config``.

    ``constant`` without warm-up is the float ``config.learning_rate`` (as before
    this switch existed). Otherwise a ``keras.optimizers.schedules.CosineDecay``:
    linear warm-up from 0 to ``learning_rate`` over ``warmup_steps``, then cosine
    decay to ``min_learning_rate`` over `decay_steps` (``constant``: no decay,
    ``alpha`` = 1).
    """
    if config.learning_rate_schedule == "constant" and config.warmup_steps == 0:
        return config.learning_rate
    if config.learning_rate_schedule == "constant":
        steps, alpha = 1, 1.0
    else:
        steps, alpha = decay_steps(config), config.min_learning_rate / config.learning_rate
    warmup = {"warmup_target": config.learning_rate, "warmup_steps": config.warmup_steps} if config.warmup_steps else {}
    initial = 0.0 if config.warmup_steps else config.learning_rate
    return keras.optimizers.schedules.CosineDecay(initial, steps, alpha=alpha, **warmup)


def optimizer_arguments(config):
    """Keyword arguments of the optimizer for the schedule and clipping keys of ``config``."""
    arguments = {"learning_rate": learning_rate(config)}
    if config.gradient_clip_norm is not None:
        arguments["global_clipnorm"] = config.gradient_clip_norm
    return arguments


def compile_arguments(config):
    """Keyword arguments of ``model.compile`` for ``config``: ``jit_compile`` (null: Keras's ``"auto"``)."""
    return {"jit_compile": "auto" if config.jit_compile is None else config.jit_compile}


@contextlib.contextmanager
def precision_policy(config):
    """Set the global dtype policy to ``config.mixed_precision`` inside the block, then restore it.

    With ``mixed_precision: null`` the policy is left alone. Layers built inside
    the block compute in float16/bfloat16 and keep float32 variables; the
    policy is restored on exit so that later models in the process are float32.
    """
    if config.mixed_precision is None:
        yield
        return
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(config.mixed_precision)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def float32_outputs(model):
    """``model`` with its outputs cast to float32 when its layers compute in another dtype.

    A functional model built under a mixed policy returns float16/bfloat16; the
    losses, the EMA and the sampler compute in float32, so the outputs are cast
    by a float32 ``linear`` activation named ``float32_output``. A float32 model is returned unchanged.
    """
    if all(output.dtype == "float32" for output in model.outputs):
        return model
    outputs = keras.layers.Activation("linear", dtype="float32", name="float32_output")(model.outputs[0])
    return keras.Model(model.inputs, outputs, name=model.name)
