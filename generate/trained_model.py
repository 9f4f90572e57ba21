"""A trained run folder as something that makes normalised spectrograms (DDIM samples or autoencoder
reconstructions), loaded once together with the `SoundGenerator` that turns them into audio."""

from functools import cached_property

import numpy as np

from common.errors import ParameterError
from common.validation import integer
from generate.learned_critic import CRITIC_FILE, LearnedCritic
from generate.rule_critic import best_of_candidates, rule_breaks
from generate.sound_generator import SoundGenerator
from models.conditioning import check_guidance_interval
from models.precision import PRECISIONS, bfloat16_copy, resolve_precision
from preprocessing.score_roll import ScoreRollTransform
from preprocessing.transform import GRIFFIN_LIM_ITERATIONS
from train.config import SAMPLING_CRITICS
from train.run_folder import RunFolder

DEFAULT_MODEL = "saved_models/chorales_ddim"  # the sampling CLIs' default run folder


def add_precision_argument(parser):
    """Add ``--precision`` (`models.precision.PRECISIONS`; default: the run's ``sampling_precision``) to ``parser``."""
    parser.add_argument("--precision", choices=PRECISIONS, default=None,
                        help="network arithmetic of a DDIM: float32, bfloat16 (faster on CPUs with native bfloat16) or "
                             "auto (bfloat16 where the CPU has it); default: the run's sampling_precision")


def add_guidance_interval_argument(parser):
    """Add ``--guidance-interval LOW HIGH`` (`models.conditioning.limit_guidance_to_interval`; default: the run's
    ``guidance_interval``) to ``parser``."""
    parser.add_argument("--guidance-interval", type=float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                        help="with --label or --prompt: guide only at noise levels LOW < noise_rate / signal_rate <= HIGH, "
                             "conditional elsewhere (Kynkäänniemi et al. 2024; 0 inf: every step; default: the run's "
                             "guidance_interval, every step for older runs)")


def model_output_values(outputs) -> np.ndarray:
    """A batch of a network's outputs, ``(batch, n_freq_bins, n_frames, channels)``, without a channel
    axis of one: ``(batch, n_freq_bins, n_frames)`` for one channel, as it is for several (the score
    roll's ``(batch, 48, 64, 2)``)."""
    outputs = np.asarray(outputs)
    return outputs[..., 0] if outputs.shape[-1] == 1 else outputs


class TrainedModel:
    """Loads a run folder once (`train.run_folder.RunFolder`) and produces normalised spectrograms from it.

    A latent DDIM (a DDIM run folder with a latent decoder, trained on a
    ``preprocessing.latents`` data set) is of kind ``"ddim"``; its samples are decoded.
    Its `sound_generator` (the run's codec and loudness limiter) is read on first use and kept.

    Args:
        model_dir: a run folder written by ``train.diffusion`` or ``train.autoencoder``.
        n_iter: int >= 1, the sound generator's Griffin-Lim iterations (where the transform takes them);
            None: the run's ``griffin_lim_iters``, else `GRIFFIN_LIM_ITERATIONS` (32).
        data_dir: the data set the run was trained on, for the limiter's level (and the
            originals a caller compares with); None: the run's own (`RunFolder.spectrogram_data_dir`).
        precision: a DDIM's network precision, one of `models.precision.PRECISIONS` (``bfloat16``:
            the EMA network is replaced by `models.precision.bfloat16_copy`); None: the run's
            ``sampling_precision`` (float32 for runs before the key). Unused by other kinds.
    Attributes:
        run: the `RunFolder`; kind: ``"ddim"``, ``"autoencoder"`` or ``"vae"`` (`RunFolder.kind`);
        config: the run's config dataclass (its defaults when the folder has no ``config.yaml``);
        model: the `DiffusionModel`, the VAE's decoder or the autoencoder; latent_decoder: a
        latent DDIM's decoder, else None; data_dir: str, "" when unknown; precision: ``"float32"`` or
        ``"bfloat16"``, what the network computes in.
    Raises:
        ParameterError: see `RunFolder.kind` and `RunFolder.config`; naming ``precision`` if it is not
            one of `models.precision.PRECISIONS`; or naming the file, if a
            ``.keras`` file is missing or unreadable or corrupt (`common.keras_file.load_keras_model`).
    """

    def __init__(self, model_dir, n_iter=None, data_dir=None, precision=None):
        self.run = RunFolder(model_dir)
        self.model_dir = self.run.path
        self.kind = self.run.kind
        self.config = self.run.config or self.run.config_class()
        self._text_encoder = None  # loaded on the first prompt, then kept
        self.model = self.run.load_model()
        self.precision = "float32"
        if self.kind == "ddim":
            self.precision = resolve_precision(precision or getattr(self.config, "sampling_precision", "float32"))
            if self.precision == "bfloat16":  # sampling calls the EMA network (`DiffusionModel._predict`)
                self.model.ema_network = bfloat16_copy(self.model.ema_network)
        elif precision is not None:
            resolve_precision(precision)  # a bad value is an error for every kind
        # latent diffusion: samples are decoded
        self.latent_decoder = self.run.load_latent_decoder() if self.kind == "ddim" else None
        # Griffin-Lim iterations: as asked, else the run's default (a DDIM's griffin_lim_iters), else 32
        self.n_iter = n_iter if n_iter is not None else (getattr(self.config, "griffin_lim_iters", None)
                                                         or GRIFFIN_LIM_ITERATIONS)
        self.data_dir = str(data_dir) if data_dir is not None else self.run.spectrogram_data_dir()

    @cached_property
    def sound_generator(self) -> SoundGenerator:
        """The run's `SoundGenerator`: its transform and normaliser, ``n_iter``, and the limiter whose
        level comes from the run's statistics or ``data_dir``'s (`generate.limiter.LoudnessLimiter.for_model`).

        Raises:
            ParameterError: naming the file, if the transform or statistics are missing or unreadable.
        """
        return SoundGenerator.from_model_dir(self.model_dir, n_iter=self.n_iter, data_dir=self.data_dir)

    @property
    def data_shape(self):
        """``(n_freq_bins, n_frames)`` of the spectrograms the model makes."""
        if self.latent_decoder is not None:
            shape = tuple(self.latent_decoder.outputs[0].shape[1:])
        elif self.kind == "ddim":
            shape = self.model.data_shape
        elif self.kind == "vae":
            shape = tuple(self.model.outputs[0].shape[1:])
        else:
            shape = tuple(self.model.inputs[0].shape[1:])
        return int(shape[0]), int(shape[1])

    @property
    def samples_score_rolls(self) -> bool:
        """Whether the model is a DDIM whose samples are score rolls (`preprocessing.score_roll.ScoreRollTransform`):
        the models that harmonise, fill bars and choose among candidates by a critic (`generate.rule_critic`)."""
        return self.kind == "ddim" and isinstance(self.sound_generator.transform, ScoreRollTransform)

    @cached_property
    def learned_critic(self) -> LearnedCritic:
        """The run's `generate.learned_critic.LearnedCritic` (``critic.json`` in its folder).

        Raises:
            ParameterError: naming the file, if it is missing (fit it with ``python -m generate.fit_critic
                --model <run>``) or unreadable.
        """
        path = self.model_dir / CRITIC_FILE
        if not path.is_file():
            raise ParameterError(f"This run has no learned critic; fit one with python -m generate.fit_critic "
                                 f"--model {self.model_dir}. Received: path={str(path)!r}")
        return LearnedCritic.load(path)

    @property
    def clip_samples(self) -> int:
        """Samples of audio in one clip the model makes: its frames through its transform (`Transform.samples_for`)."""
        return self.sound_generator.transform.samples_for(self.data_shape[1])

    @property
    def parameters(self):
        """Parameters used in sampling: the DDIM's network (and a latent DDIM's decoder), the VAE's decoder,
        or the whole autoencoder."""
        if self.kind == "ddim":
            decoder = self.latent_decoder.count_params() if self.latent_decoder is not None else 0
            return int(self.model.network.count_params() + decoder)
        return int(self.model.count_params())

    def default_steps(self):
        """DDIM steps the run was configured to sample with (None for an autoencoder or a VAE)."""
        return int(self.config.sampling_steps) if self.kind == "ddim" else None

    def default_sampler(self):
        """The sampler the run was configured with (``"ddim"`` for runs before the key), None for an autoencoder or a VAE."""
        return str(self.config.sampler) if self.kind == "ddim" else None

    def sampling_options(self, steps=None, sampler=None, guidance_scale=None, guidance_rescale=None,
                         clip_sample=None, conditioned=False, guidance_interval=None, candidates=None,
                         critic=None):
        """The options a DDIM samples with, each None replaced by the run's value (what `spectrograms` uses).

        Args:
            steps, sampler, guidance_scale, guidance_rescale, clip_sample, guidance_interval, candidates, critic: as
                `spectrograms`, or None.
            conditioned: whether a label or a prompt is given: without one, guidance is off
                (``guidance_scale`` 1.0, ``guidance_rescale`` 0.0, ``guidance_interval`` None), whatever was asked.
        Returns:
            dict with ``steps`` (int), ``sampler`` (str), ``guidance_scale`` (float), ``guidance_rescale``
            (float), ``clip_sample`` (bool), ``guidance_interval`` (None, or ``[low, high]`` floats) and
            ``candidates`` (int >= 1) and ``critic`` (``"rules"`` or ``"learned"``); an empty dict for an
            autoencoder or a VAE.
        Raises:
            ParameterError: for a ``guidance_interval`` that is not a pair 0 <= low < high, ``candidates``
                other than 1 for a model whose samples are not score rolls (`generate.rule_critic`), or a
                ``critic`` other than ``"rules"`` and ``"learned"``.
        """
        if self.kind != "ddim":
            return {}
        candidates = integer("candidates", self.config.sampling_candidates if candidates is None else candidates, 1)
        if candidates > 1 and not self.samples_score_rolls:
            raise ParameterError(f"Only a score-roll model's samples can be chosen by the rules of part writing "
                                 f"(generate.rule_critic). Received: candidates={candidates}")
        critic = self.config.sampling_critic if critic is None else critic
        if critic not in SAMPLING_CRITICS:
            raise ParameterError(f"critic must be one of {SAMPLING_CRITICS}. Received: critic={critic!r}")
        interval = check_guidance_interval(self.config.guidance_interval if guidance_interval is None
                                           else guidance_interval) if conditioned else None
        return {
            "steps": int(steps or self.default_steps()),
            "sampler": sampler or self.default_sampler(),
            "guidance_scale": (float(self.config.guidance_scale) if guidance_scale is None else float(guidance_scale))
            if conditioned else 1.0,
            "guidance_rescale": (float(self.config.guidance_rescale) if guidance_rescale is None
                                 else float(guidance_rescale)) if conditioned else 0.0,
            "clip_sample": bool(self.config.clip_sample) if clip_sample is None else bool(clip_sample),
            "guidance_interval": interval and list(interval),
            "candidates": candidates,
            "critic": critic,
        }

    def warm_up(self, seeds=None, originals=None, label=None, guidance_scale=None, prompt=None, sampler=None,
                guidance_rescale=None, clip_sample=None, guidance_interval=None, candidates=None, critic=None):
        """Run the model once on one sample, so that later calls run at their steady-state speed.

        One DDIM step on ``seeds[0]`` (with the same condition and guidance: each is traced
        once, `models.diffusion.DiffusionModel.ema_denoiser`; a latent DDIM's decoder runs too),
        or the VAE's decoder on ``seeds[0]``, or the autoencoder on ``originals[:1]``: the
        first call of a TensorFlow function traces and optimises its graph, and this is that
        first call. Arguments as `spectrograms`; ``candidates`` and ``critic`` are taken and left unused (one candidate warms
        the network up).

        Returns:
            The warm-up output, as `spectrograms` returns it, for one sample (a DDIM's after one step:
            noise, useful only for its shape).
        Raises:
            ParameterError: as `spectrograms`.
        """
        return self.spectrograms(seeds=None if seeds is None else list(seeds)[:1], steps=1 if self.kind == "ddim" else None,
                          originals=None if originals is None else np.asarray(originals)[:1], label=label,
                          guidance_scale=guidance_scale, prompt=prompt, sampler=sampler,
                          guidance_rescale=guidance_rescale, clip_sample=clip_sample, guidance_interval=guidance_interval,
                          candidates=1)

    def spectrograms(self, seeds=None, steps=None, originals=None, label=None, guidance_scale=None, prompt=None,
                     sampler=None, guidance_rescale=None, clip_sample=None, guidance_interval=None, candidates=None,
                     critic=None):
        """DDIM or VAE samples for ``seeds``, or autoencoder reconstructions of ``originals``.

        Args:
            seeds: DDIM (pixel or latent) and VAE: one int per sample (sample i is reproducible from seeds[i];
                the VAE decodes a standard-normal latent drawn from it).
            steps: DDIM only: sampling steps (None = `default_steps`).
            originals: autoencoder only: ``(batch, n_freq_bins, n_frames)`` normalised spectrograms
                (``(batch, n_freq_bins, n_frames, n_channels)`` for a transform with channels).
            label: class-conditional DDIM only: a class name for every sample (None: unconditional).
            prompt: text-conditional DDIM only: a text prompt for every sample (None: unconditional).
            guidance_scale: classifier-free guidance with ``label`` or ``prompt`` (None: the run's ``guidance_scale``).
            sampler: DDIM only: ``"ddim"`` or ``"dpm++2m"`` (None: the run's ``sampler``, ddim for runs before it).
            guidance_rescale: with guidance, in [0, 1] (None: the run's ``guidance_rescale``, 0 before it).
            clip_sample: DDIM only: clip every step's x0 estimate to the data's range (static thresholding;
                None: the run's ``clip_sample``, False before it).
            guidance_interval: with guidance, ``(low, high)``: guide only at noise levels
                low < noise_rate / signal_rate <= high (Kynkäänniemi et al. 2024; None: the run's
                ``guidance_interval``, every step for runs before it).
            candidates: DDIM on score rolls only: int >= 1, samples drawn per seed, of which the one the
                critic prefers is kept (`generate.rule_critic`; None: the run's ``sampling_candidates``, 1
                before it).
            critic: with candidates > 1: ``"rules"``, the fewest rule breaks (`generate.rule_critic.rule_breaks`),
                or ``"learned"``, the highest logit of the run's `learned_critic` (`generate.learned_critic`;
                None: the run's ``sampling_critic``, rules before it).
        Returns:
            float32 ``(batch, n_freq_bins, n_frames)`` normalised spectrograms (nominally [0, 1]);
            for a transform with channels ``(batch, n_freq_bins, n_frames, n_channels)`` (the score roll).
        Raises:
            ParameterError: if the input the model kind needs is missing, a label is given to a
                model that takes none or is not one of its classes, or ``guidance_scale`` < 0; for an unknown
                ``critic``, or ``"learned"`` on a run without ``critic.json`` (`learned_critic`).
        """
        if (label is not None or prompt is not None) and self.kind != "ddim":
            raise ParameterError(f"Only a conditional DDIM takes a label or a prompt. Received: {label or prompt!r}")
        if label is not None and prompt is not None:
            raise ParameterError("Give a label or a prompt, not both. Received: both")
        if self.kind == "ddim":
            if seeds is None:
                raise ParameterError("A DDIM samples from seeds. Received: seeds=None")
            context = None
            if prompt is not None:
                if self.model.conditioning != "text":
                    raise ParameterError(f"This model takes no text prompt (its conditioning: {self.model.conditioning}). "
                                         f"Received: prompt={prompt!r}")
                if self._text_encoder is None:
                    from models.text_encoder import TextEncoder

                    self._text_encoder = TextEncoder(max_tokens=self.model.context_shape[0])
                tokens, mask, _ = self._text_encoder.encode([prompt])
                context = (tokens[0], mask[0].astype("float32"))
            options = self.sampling_options(steps, sampler, guidance_scale, guidance_rescale, clip_sample,
                                            conditioned=label is not None or prompt is not None,
                                            guidance_interval=guidance_interval, candidates=candidates,
                                            critic=critic)

            def sample(seed_list):
                generated = self.model.generate(seeds=list(seed_list), diffusion_steps=options["steps"], labels=label,
                                                context=context, guidance_scale=options["guidance_scale"],
                                                sampler=options["sampler"], guidance_rescale=options["guidance_rescale"],
                                                clip_sample=options["clip_sample"],
                                                guidance_interval=options["guidance_interval"])
                if self.latent_decoder is not None:
                    generated = self.latent_decoder.predict(np.asarray(generated), verbose=0)
                return model_output_values(generated)

            if options["candidates"] == 1:
                return sample(seeds)
            codec = self.sound_generator.codec
            score = self.learned_critic.score if options["critic"] == "learned" else rule_breaks
            kept, _, _ = best_of_candidates(sample, list(seeds), options["candidates"],
                                            lambda values: codec.transform.decode(codec.denormalise(values)), score)
            return kept
        if self.kind == "vae":
            if seeds is None:
                raise ParameterError("A VAE samples from seeds. Received: seeds=None")
            from models.vae import sample_latents

            latents = sample_latents(seeds, tuple(int(d) for d in self.model.inputs[0].shape[1:]))
            return model_output_values(self.model.predict(latents, verbose=0))
        if originals is None:
            raise ParameterError("An autoencoder reconstructs given spectrograms. Received: originals=None")
        originals = np.asarray(originals)
        inputs = originals if originals.ndim == len(self.model.inputs[0].shape) else originals[..., None]
        return model_output_values(self.model.predict(inputs, verbose=0))
