"""The training loop of both CLIs: ``tf.distribute`` custom loop, step checkpoints, deterministic data.

One loop serves every strategy of `train.strategy` (one device, several GPUs,
several hosts, TPU). It is a custom loop (``strategy.run`` over
``distribute_datasets_from_function``, ``strategy.reduce``) rather than
``model.fit``, which fails under ``MultiWorkerMirroredStrategy`` in Keras 3
(keras-team/keras issue 20585; ``../shared/notes/FINDINGS.md``). Keras callbacks
still run: the progress bar with ETA, ``History``, ``CSVLogger``, TensorBoard and
the project's own, called at the same points as ``fit`` calls them.

Fault tolerance: every ``checkpoint_every`` optimizer steps and at the end of
every epoch, the chief writes `train.checkpoint.TrainingCheckpoint` atomically.
Started again with the same command, a killed run restores it, rebuilds the data
stream at the restored step (`train.data.SpectrogramData.stream`: batch k depends
only on the seed and k) and goes on; it ends at the same step count with the same
batches, the same noise, hence the same weights as a run never killed. Before it
goes on, the rows of ``history.csv`` of the epochs it runs again are dropped (a
kill between an epoch's CSV row and its checkpoint would otherwise log it twice).
"""

import sys
import time

import keras
import tensorflow as tf

from train.callbacks import LearningRateLogger


def _reduce(strategy, per_replica):
    return {k: strategy.reduce(tf.distribute.ReduceOp.MEAN, v, axis=None) for k, v in per_replica.items()}


def _floats(logs):
    return {k: float(v) for k, v in logs.items()}


def any_replica(strategy, flag):
    """True on every worker when ``flag`` is True on any of them (an all-reduce), so that all stop together."""
    values = strategy.experimental_distribute_values_from_function(lambda _: tf.constant(1.0 if flag else 0.0))
    return bool(strategy.reduce(tf.distribute.ReduceOp.SUM, values, axis=None) > 0)


def fit(model, strategy, train_stream, val_stream, config, run, chief=True, callbacks=(),
        chief_callbacks=()):
    """Train ``model`` to ``config.epochs * config.steps_per_epoch`` optimizer steps, resuming if it can.

    Args:
        model: a compiled ``keras.Model`` built in ``strategy.scope()``, optimizer built.
        strategy: the ``tf.distribute.Strategy`` (`train.strategy.get_strategy`).
        train_stream: ``f(input_context, start_step) -> tf.data.Dataset`` of per-replica
            training batches from step ``start_step`` on (`SpectrogramData.stream`).
        val_stream: ``f(input_context) -> tf.data.Dataset`` of validation batches, or None.
        config: a training config: ``epochs``, ``steps_per_epoch``, ``validation_batches``,
            ``checkpoint_every`` (null: at epoch ends only), ``jit_compile``.
        run: the `train.run_folder.RunFolder`; its history and checkpoints are written. Rows of
            the history from the resumed epoch on are dropped first (each epoch is logged once).
        chief: whether this process writes (checkpoints, CSV, logs, progress bar).
        callbacks: more ``keras.callbacks.Callback`` run on every worker (e.g. a time budget
            that sets ``model.stop_training``; training stops on all workers when it does on any).
        chief_callbacks: callbacks run on the chief only, after the CSV log (TensorBoard).
    Returns:
        ``(history, seconds, start_step)``: the ``keras.callbacks.History`` of the epochs
        run now, the wall time, and the step training resumed from (0 for a fresh run).
    Raises:
        ParameterError: from `TrainingCheckpoint.restore` (a checkpoint of another config).
    """
    steps_per_epoch = config.steps_per_epoch
    checkpoint = run.checkpoint(config, write=chief)
    start_step = checkpoint.restore(model)
    if start_step:
        print(f"Resuming from the checkpoint at step {start_step}.", flush=True)
    if chief:  # rows of epochs run again (killed after the CSV row, before the checkpoint) would be written twice
        run.drop_history_from(start_step // steps_per_epoch)
    train_data = strategy.distribute_datasets_from_function(lambda context: train_stream(context, start_step))
    train_iterator = iter(train_data)
    train_step, test_step = _distributed_steps(model, strategy, config.jit_compile)

    def evaluate():
        for metric in model.metrics:
            metric.reset_state()
        iterator = iter(strategy.distribute_datasets_from_function(val_stream))
        logs = {}
        for _ in range(config.validation_batches):
            logs = test_step(iterator)
        return {f"val_{k}": v for k, v in _floats(logs).items()}

    history = keras.callbacks.History()
    callback_list = _callback_list(model, config, run, chief, history, callbacks, chief_callbacks)
    model.stop_training = False
    start = time.monotonic()
    step = start_step
    callback_list.on_train_begin()
    for epoch in range(step // steps_per_epoch, config.epochs):
        for metric in model.metrics:
            metric.reset_state()
        callback_list.on_epoch_begin(epoch)
        logs = {}
        for batch in range(step % steps_per_epoch, steps_per_epoch):
            callback_list.on_train_batch_begin(batch)
            logs = _floats(train_step(train_iterator))
            step += 1
            callback_list.on_train_batch_end(batch, logs)
            if config.checkpoint_every and step % config.checkpoint_every == 0 and batch < steps_per_epoch - 1:
                checkpoint.save(model, step)
        epoch_logs = dict(logs)
        if val_stream is not None and config.validation_batches:
            epoch_logs.update(evaluate())
        callback_list.on_epoch_end(epoch, epoch_logs)
        checkpoint.save(model, step)
        if any_replica(strategy, model.stop_training):
            break
    callback_list.on_train_end()
    return history, time.monotonic() - start, start_step


def _distributed_steps(model, strategy, jit_compile):
    """``(train_step, test_step)``: ``tf.function`` s that run the model's step on every replica for the
    next batch of an iterator and return the logs averaged over the replicas (XLA-compiled per replica
    with ``jit_compile``)."""
    replica_train_step = model.train_step
    replica_test_step = model.test_step
    if jit_compile:
        replica_train_step = tf.function(model.train_step, jit_compile=True)
        replica_test_step = tf.function(model.test_step, jit_compile=True)

    @tf.function
    def train_step(iterator):
        return _reduce(strategy, strategy.run(replica_train_step, args=(next(iterator),)))

    @tf.function
    def test_step(iterator):
        return _reduce(strategy, strategy.run(replica_test_step, args=(next(iterator),)))

    return train_step, test_step


def _callback_list(model, config, run, chief, history, callbacks, chief_callbacks):
    """The Keras callbacks `fit` calls: ``history`` and ``callbacks`` everywhere; on the chief also the
    learning-rate logger, the CSV log of the run's history, ``chief_callbacks`` and the progress bar."""
    written = [LearningRateLogger(), keras.callbacks.CSVLogger(str(run.history_path), append=True), *chief_callbacks]
    return keras.callbacks.CallbackList(
        [history, *(written if chief else []), *callbacks],
        add_progbar=chief,
        model=model,
        verbose=1 if sys.stdout.isatty() else 2,
        epochs=config.epochs,
        steps=config.steps_per_epoch,
    )


def fit_on_data(model, strategy, data, config, run, element_fn=None, chief=True, chief_callbacks=(), conditions=None):
    """`fit` on a preprocessed data set: the streams of `SpectrogramData.stream`, a time budget, ``history.png``.

    Args:
        model, strategy, config, run, chief, chief_callbacks: as `fit`; ``config`` also
            gives ``batch_size`` (the global batch), ``seed``, ``random_time_crop``,
            ``cache_clips`` and ``max_train_minutes``.
        data: a `train.data.SpectrogramData`.
        element_fn: the model's ``f(clip, seeds) -> element`` (`SpectrogramData.stream`).
        conditions: None, or ``f(split) -> int array`` of per-clip conditions (class indices)
            given to ``element_fn`` (`SpectrogramData.stream`).
    Returns:
        As `fit`.
    """
    from train.callbacks import TimeBudget  # looked up here, so that a test can replace it
    from train.history_plot import plot_history

    options = dict(crop_frames=config.random_time_crop, cache=config.cache_clips)

    def train_stream(context, start_step):
        return data.stream("train", config.batch_size, element_fn, seed=config.seed, start_step=start_step,
                           input_context=context, conditions=conditions and conditions("train"), **options)

    def val_stream(context):
        return data.stream("validation", config.batch_size, element_fn, seed=config.seed, shuffle=False,
                           input_context=context, conditions=conditions and conditions("validation"), **options)

    has_validation = bool(config.validation_batches and data.paths("validation"))
    result = fit(
        model, strategy, train_stream, val_stream if has_validation else None, config, run,
        chief=chief, callbacks=[TimeBudget(config.max_train_minutes)],
        chief_callbacks=chief_callbacks,
    )
    if chief:
        plot_history(run.history_path, run.history_plot_path)
    return result
