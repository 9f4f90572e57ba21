"""Callbacks of the training CLIs: a wall-time budget, the learning rate per epoch, TensorBoard logs and samples."""

import importlib.util
import time

import keras
import numpy as np

from common.errors import ParameterError
from preprocessing.codec import SpectrogramCodec

SAMPLE_GRIFFIN_LIM_ITERATIONS = 16  # the TensorBoard samples' Griffin-Lim iterations: a preview, half the default cost


class TimeBudget(keras.callbacks.Callback):
    """Stop training at the end of the first epoch that ends after ``minutes`` of wall time (None: no budget)."""

    def __init__(self, minutes):
        super().__init__()
        self.seconds = None if minutes is None else 60.0 * minutes
        self.start = None

    def on_train_begin(self, logs=None):
        self.start = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        if self.seconds is not None and time.monotonic() - self.start >= self.seconds:
            print(f"Time budget of {self.seconds / 60:.1f} min reached after epoch {epoch + 1}; stopping.", flush=True)
            self.model.stop_training = True


class LearningRateLogger(keras.callbacks.Callback):
    """Add ``learning_rate`` (the optimizer's current rate, after its schedule) to each epoch's logs.

    Place it before ``CSVLogger`` and ``TensorBoard`` so that they record the column.
    """

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))


class SpectrogramSamples(keras.callbacks.Callback):
    """Every ``every`` epochs, write the DDIM's samples to TensorBoard: spectrograms and their audio.

    Args:
        log_dir: folder of the summary writer (``<run_dir>/tensorboard/samples``).
        every: epochs between two sets of samples (the last epoch of each period writes).
        num_images: spectrograms per set, generated with seeds ``0 .. num_images-1``.
        diffusion_steps: DDIM steps per spectrogram.
        run: None, or the `train.run_folder.RunFolder` (its transform and statistics):
            the samples are then also inverted to audio (`preprocessing.codec.SpectrogramCodec`,
            `SAMPLE_GRIFFIN_LIM_ITERATIONS` Griffin-Lim iterations where the representation
            takes them, sample ``i`` seeded ``i``), scaled down to a peak of 1 if they exceed
            it, and written with ``tf.summary.audio``; if it holds a latent decoder (a
            latent DDIM), the samples are decoded to spectrograms first.
    Images (``tf.summary.image``) have low frequencies at the bottom; values are the model's [0, 1] scale
    (the mean of the channels for a sample of 2 channels, the score roll).
    """

    def __init__(self, log_dir, every=1, num_images=2, diffusion_steps=10, run=None):
        super().__init__()
        self.log_dir, self.every, self.num_images, self.diffusion_steps = str(log_dir), every, num_images, diffusion_steps
        self.run = run
        self.writer = None
        self.codec = None
        self.decoder = None if run is None else run.load_latent_decoder()

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        if (epoch + 1) % self.every:
            return
        seeds = list(range(self.num_images))
        samples = self.model.generate(seeds=seeds, diffusion_steps=self.diffusion_steps)
        if self.decoder is not None:  # a latent DDIM: its samples are latents, decoded to spectrograms
            samples = np.asarray(self.decoder.predict(samples, verbose=0))
        images = np.clip(samples[:, ::-1], 0.0, 1.0)  # frequency axis flipped: low bins at the bottom
        if images.shape[-1] not in (1, 3, 4):  # channels an image cannot hold (the score roll's 2): their mean
            images = images.mean(axis=-1, keepdims=True)
        if self.writer is None:
            self.writer = tf.summary.create_file_writer(self.log_dir)
        with self.writer.as_default():
            tf.summary.image("generated_spectrograms", images, step=epoch, max_outputs=self.num_images)
            if self.run is not None:
                if self.codec is None:  # read the transform and statistics once
                    self.codec = SpectrogramCodec.from_files(self.run.transform_path, self.run.normalisation_path)
                transform = self.codec.transform
                audio = np.stack([
                    self.codec.to_audio(
                        sample, **transform.applicable_options(n_iter=SAMPLE_GRIFFIN_LIM_ITERATIONS, random_state=seed))
                    for sample, seed in zip(samples, seeds)
                ])
                peak = max(float(np.abs(audio).max()), 1e-9)
                tf.summary.audio("generated_audio", (audio / max(peak, 1.0))[..., None].astype("float32"),
                                 self.codec.sample_rate, step=epoch, max_outputs=self.num_images)
        self.writer.flush()

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.close()


def tensorboard_callbacks(config, run, samples=False):
    """The TensorBoard callbacks for ``config`` (empty unless ``config.tensorboard``).

    Args:
        config: a training config (`train.config.TrainingOptions` keys).
        run: the `train.run_folder.RunFolder`; logs go to its ``tensorboard/``.
        samples: also write generated spectrograms and their audio (the DDIM: `SpectrogramSamples`).
    Returns:
        A list of ``keras.callbacks.Callback``: losses and learning rate per epoch, and the samples.
    Raises:
        ParameterError: if ``config.tensorboard`` and the ``tensorboard`` package is not installed.
    """
    if not config.tensorboard:
        return []
    if importlib.util.find_spec("tensorboard") is None:
        raise ParameterError("tensorboard: true needs the tensorboard package (pip install tensorboard). Received: tensorboard=True")
    log_dir = run.tensorboard_dir
    callbacks = [keras.callbacks.TensorBoard(str(log_dir), write_graph=False)]
    if samples:
        callbacks.append(SpectrogramSamples(log_dir / "samples", config.tensorboard_sample_every,
                                            diffusion_steps=config.sampling_steps, run=run))
    return callbacks
