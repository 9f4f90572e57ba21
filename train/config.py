"""Training configurations: frozen dataclasses filled from YAML and ``--set`` overrides.

Every key is documented in README.md ("Configuration keys"). Load them with
`common.config.load_config`; unknown keys and wrong types are errors.
"""

from dataclasses import dataclass
from typing import Optional

from common.errors import ParameterError
from common.validation import integer
from models.autoencoder import BOTTLENECKS
from models.conditioning import check_guidance_interval
from models.objective import PREDICTIONS
from models.precision import PRECISIONS
from models.training_draws import check_mask_kinds
from models.noise_schedule import SCHEDULE_NAMES
from models.samplers import SAMPLERS
from models.unet import BLOCK_TYPES, check_dropout
from train.options import LEARNING_RATE_SCHEDULES, MIXED_PRECISION_POLICIES
from train.strategy import STRATEGIES



def _positive(config, *names):
    for name in names:
        value = getattr(config, name)
        if not value > 0:
            raise ParameterError(f"Config key '{name}' must be > 0. Received: {name}={value!r}")


def _common_checks(config):
    _positive(config, "batch_size", "steps_per_epoch", "epochs", "learning_rate")
    if config.strategy not in STRATEGIES:
        raise ParameterError(f"strategy must be one of {STRATEGIES}. Received: strategy={config.strategy!r}")
    if config.max_train_minutes is not None and not config.max_train_minutes > 0:
        raise ParameterError(f"max_train_minutes must be > 0 or null. Received: max_train_minutes={config.max_train_minutes!r}")
    if config.validation_batches < 0:
        raise ParameterError(f"validation_batches must be >= 0. Received: validation_batches={config.validation_batches}")
    _option_checks(config)


def _option_checks(config):
    """The keys of `TrainingOptions` (issue 5); ``random_time_crop`` is checked per model."""
    if config.learning_rate_schedule not in LEARNING_RATE_SCHEDULES:
        raise ParameterError(
            f"learning_rate_schedule must be one of {LEARNING_RATE_SCHEDULES}. "
            f"Received: learning_rate_schedule={config.learning_rate_schedule!r}"
        )
    if config.warmup_steps < 0:
        raise ParameterError(f"warmup_steps must be >= 0. Received: warmup_steps={config.warmup_steps}")
    if config.decay_steps is not None:
        _positive(config, "decay_steps")
    if not 0.0 <= config.min_learning_rate <= config.learning_rate:
        raise ParameterError(
            f"min_learning_rate must be in [0, learning_rate={config.learning_rate}]. "
            f"Received: min_learning_rate={config.min_learning_rate!r}"
        )
    for name in ("gradient_clip_norm", "random_time_crop"):
        if getattr(config, name) is not None:
            _positive(config, name)
    if config.mixed_precision is not None and config.mixed_precision not in MIXED_PRECISION_POLICIES:
        raise ParameterError(
            f"mixed_precision must be null or one of {MIXED_PRECISION_POLICIES}. "
            f"Received: mixed_precision={config.mixed_precision!r}"
        )
    _positive(config, "tensorboard_sample_every", "worker_timeout_s")
    if config.checkpoint_every is not None:
        _positive(config, "checkpoint_every")


def _check_crop(config, factor, why):
    """``random_time_crop`` must be null or divisible by the model's time downsampling ``factor``."""
    if config.random_time_crop is not None and config.random_time_crop % factor:
        raise ParameterError(
            f"random_time_crop must be divisible by {factor} ({why}). Received: random_time_crop={config.random_time_crop}"
        )


@dataclass(frozen=True)
class TrainingOptions:
    """Speed, schedule and observability keys of both training CLIs (issue 5; README for each key).

    The defaults train exactly as before they existed:
        learning_rate_schedule: ``constant`` or ``cosine``; ``warmup_steps`` of linear
            warm-up from 0 first; ``cosine`` decays to ``min_learning_rate`` over
            ``decay_steps`` (null: the run's steps after the warm-up).
        gradient_clip_norm: null or > 0, the optimizer's ``global_clipnorm``.
        mixed_precision: null, ``mixed_float16`` or ``mixed_bfloat16`` (the Keras dtype policy).
        jit_compile: null (Keras's ``"auto"``: XLA on GPUs, not on CPUs), true or false.
        random_time_crop: null or a frame count; training and validation clips are cropped to it.
        tensorboard: write ``<run_dir>/tensorboard``; the DDIM also writes generated
            spectrograms every ``tensorboard_sample_every`` epochs.
        checkpoint_every: null (at each epoch's end only) or optimizer steps between
            checkpoints (`train.checkpoint`; written at epoch ends too).
        worker_timeout_s: seconds ``strategy: multi_worker`` waits for the other workers.
        cache_clips: keep the clips in memory after their first read (small data sets);
            false streams them from disk, so memory does not grow with the data set.
    """

    learning_rate_schedule: str = "constant"
    warmup_steps: int = 0
    decay_steps: Optional[int] = None
    min_learning_rate: float = 0.0
    gradient_clip_norm: Optional[float] = None
    mixed_precision: Optional[str] = None
    jit_compile: Optional[bool] = None
    random_time_crop: Optional[int] = None
    tensorboard: bool = False
    tensorboard_sample_every: int = 1
    checkpoint_every: Optional[int] = None
    worker_timeout_s: float = 300.0
    cache_clips: bool = False


@dataclass(frozen=True)
class AutoencoderTrainConfig(TrainingOptions):
    """Configuration of ``python -m train.autoencoder`` (see README for each key).

    ``variational: true`` trains the variational autoencoder of `models.vae`
    (``beta`` weights its KL term) instead of the deterministic one. ``bottleneck``:
    ``dense`` (a ``latent_dim`` vector) or ``spatial`` (``latent_channels`` maps at
    1/S of the input's size, S the product of the strides: the autoencoder of
    latent diffusion, `preprocessing.latents`).
    """

    data_dir: str = "data/chorales_stft"
    run_dir: str = "saved_models/chorales_autoencoder"
    conv_filters: tuple[int, ...] = (16, 32, 64, 64, 32)
    conv_kernels: tuple[int, ...] = (3, 3, 3, 3, 3)
    conv_strides: tuple[int, ...] = (2, 2, 2, 2, 2)
    latent_dim: int = 128
    bottleneck: str = "dense"
    latent_channels: int = 4
    variational: bool = False
    beta: float = 1.0
    batch_size: int = 16
    learning_rate: float = 5e-4
    epochs: int = 30
    steps_per_epoch: int = 50
    validation_batches: int = 4
    max_train_minutes: Optional[float] = None
    strategy: str = "auto"
    seed: int = 0

    def __post_init__(self):
        _common_checks(self)
        _positive(self, "latent_dim", "latent_channels")
        if self.bottleneck not in BOTTLENECKS:
            raise ParameterError(f"bottleneck must be one of {BOTTLENECKS}. Received: bottleneck={self.bottleneck!r}")
        if not 0.0 <= self.beta < float("inf"):
            raise ParameterError(f"Config key 'beta' must be a finite number >= 0. Received: beta={self.beta!r}")
        lengths = {len(self.conv_filters), len(self.conv_kernels), len(self.conv_strides)}
        if len(lengths) != 1 or not self.conv_filters:
            raise ParameterError(
                "conv_filters, conv_kernels and conv_strides must be non-empty and of equal length. "
                f"Received: conv_filters={self.conv_filters}, conv_kernels={self.conv_kernels}, conv_strides={self.conv_strides}"
            )
        factor = 1
        for stride in self.conv_strides:
            factor *= stride
        _check_crop(self, factor, "the product of conv_strides")


# which critic chooses among a score-roll DDIM's candidates (`generate.rule_critic`, `generate.learned_critic`)
SAMPLING_CRITICS = ("rules", "learned")

# U-Net sizes by name; "small" is the shipped model's. Costs on the 2-core CPU are in docs/MEASUREMENTS.md.
PRESETS = {
    "tiny": {"widths": (16, 32, 48, 64), "block_depth": 1, "attention_levels": (), "embedding_dims": 16, "num_heads": 2},
    "small": {"widths": (32, 64, 96, 128), "block_depth": 1, "attention_levels": (3,), "embedding_dims": 32, "num_heads": 4},
    "base": {"widths": (64, 128, 192, 256), "block_depth": 2, "attention_levels": (2, 3), "embedding_dims": 64, "num_heads": 4},
}


@dataclass(frozen=True)
class DiffusionTrainConfig(TrainingOptions):
    """Configuration of ``python -m train.diffusion`` (see README for each key).

    The diffusion choices (issue 4), each documented with its paper in
    `models.noise_schedule` and `models.objective`; the defaults are the shipped model's:
        schedule: ``offset_cosine`` (Keras example; ``min_signal_rate``/``max_signal_rate``
            apply to it only), ``linear`` (Ho et al. 2020) or ``cosine`` (Nichol and Dhariwal 2021).
        schedule_shift: > 0; times shifted towards the noise end in training and sampling,
            t -> a t / (1 + (a - 1) t) (`models.noise_schedule.ShiftedSchedule`); 1 = none.
        prediction: the network's target, ``eps``, ``v`` (Salimans and Ho 2022) or ``x0``.
        min_snr_gamma: null or > 0, Min-SNR-gamma loss weighting (Hang et al. 2023; 5 there).
        spectral_norm_weight, time_derivative_weight: >= 0, weights of the auxiliary
            spectral-norm and time-derivative losses on the predicted clean spectrogram.
        conditioning: null (unconditional), ``label``: class-conditional on the manifest's
            ``label`` column, or ``text``: conditional on its ``caption`` column, encoded by
            `models.text_encoder` (``text_max_tokens`` tokens) and injected by
            cross-attention; trained for classifier-free guidance (Ho and Salimans 2022)
            with the label or caption dropped with probability ``label_dropout``;
            ``guidance_scale`` (>= 0) is the default guidance of ``generate.sounds``.
            ``mask``: conditioned on a known part of the clip (Palette, Saharia et al. 2022),
            drawn from ``mask_kinds`` (`models.training_draws.mask_draws`: ``none``,
            ``prefix``, ``suffix``, ``span``, ``top_voice``); such a model fills in
            (``generate.sounds`` continue, long, inpaint, harmonise) and samples
            unconditionally.
        sampler, sampling_steps: the default sampler of ``generate.sounds`` (``ddim`` or
            ``dpm++2m``: DPM-Solver++(2M), Lu et al. 2022) and its steps.
        sampling_candidates: int >= 1; score-roll models only: the sampling CLIs draw every free sample
            this many times and keep the one with the fewest semitone clashes and parallel fifths and
            octaves (`generate.rule_critic`); 1: the plain sample. ``--candidates`` overrides.
        sampling_critic: which critic chooses among the candidates: ``rules`` (the rule breaks above) or
            ``learned`` (a real-versus-generated classifier fitted to the run, ``critic.json``,
            `generate.learned_critic`). ``--critic`` overrides.
        griffin_lim_iters: null or >= 1, the default Griffin-Lim iterations when the sampling
            CLIs turn this run's spectrograms into audio (null: `preprocessing.transform.GRIFFIN_LIM_ITERATIONS`,
            32; ``--griffin-lim-iters`` overrides; unused by exact inverses).
        sampling_precision: the sampling CLIs' default network precision (`models.precision`):
            ``float32``, ``bfloat16`` (float32 weights, bfloat16 arithmetic) or ``auto`` (bfloat16 on a
            CPU with native bfloat16, ``avx512_bf16`` or ``amx_bf16``, else float32); ``--precision``
            overrides. Training is not affected (``mixed_precision`` is training's).
        guidance_rescale: in [0, 1], the default guidance rescale with a label or prompt
            (Lin et al. 2024; 0: plain classifier-free guidance).
        guidance_interval: null (guided at every step) or ``[low, high]``, 0 <= low < high: the
            default noise levels, as noise_rate / signal_rate, where a label or prompt is guided;
            the conditional output elsewhere (Kynkäänniemi et al. 2024,
            `models.conditioning.limit_guidance_to_interval`).
        clip_sample: whether sampling clips every step's x0 estimate to the data's range
            (static thresholding, Saharia et al. 2022; against guidance's over-saturation).
        block_type: the U-Net's residual blocks (`models.unet.build_unet`): ``concat``
            (Keras DDIM example, the shipped models') or ``film`` (ADM: the noise level
            scales and shifts every block; Dhariwal and Nichol 2021).
        frequency_mixing_levels: U-Net levels whose blocks are followed by a learned
            matrix over the frequency axis (`models.layers.FrequencyMixing`); () for none.
        frequency_attention_levels: U-Net levels whose blocks are followed by gated
            self-attention along the frequency axis within each frame
            (`models.layers.FrequencyAttention`); () for none.
        init_from: null, or a trained DDIM folder whose weights initialise every layer of
            the same name and shape (fine-tuning, e.g. an unconditional model into a
            conditional one); a resumed run restores its checkpoint instead.
        condition_in_noise_embedding: ``film`` blocks with ``conditioning`` label or text: the
            class or prompt vector is also added, through a zero-initialised projection, to the
            noise-level embedding that scales and shifts every block, as in ADM (Dhariwal and
            Nichol 2021; `models.unet.build_unet`). With ``freeze_init_from`` the condition then
            modulates the pretrained blocks multiplicatively, not only by a bias.
        condition_adapter_rank: int >= 0; ``film`` blocks with ``conditioning`` label or text: a
            condition-modulated bottleneck adapter of that many channels beside every block's
            first conv (`models.unet.build_unet`); with ``freeze_init_from`` it gives the new
            condition capacity of its own. 0: none.
        freeze_init_from: True to keep the layers init_from copies fixed, so only the layers
            it lacks train (the class embedding and zero-initialised condition layers of a
            model made conditional): the pretrained network is kept as it is, as ControlNet
            keeps a locked copy (Zhang et al. 2023). Needs init_from.
        self_conditioning: True to show the network its own x0 estimate of the step before
            (Chen, Zhang and Hinton, "Analog Bits", ICLR 2023; `models.self_conditioning`): one
            more forward pass per training step, none at sampling. Its input is zero-initialised,
            so ``init_from`` a network without it starts from that network's samples.
        dropout: float in [0, 1); ``film`` blocks: the rate of a dropout layer before every
            residual block's last conv (Ho et al. 2020, appendix B; `models.unet.build_unet`), a
            regulariser for small data sets. No weights: ``init_from`` works across rates. 0: none.

    ``preset`` (null, "tiny", "small" or "base", see `PRESETS`) sets widths,
    block_depth, attention_levels, embedding_dims and num_heads at once; giving
    one of those keys a value other than its default and the preset's is an
    error that names both.
    """

    data_dir: str = "data/chorales_stft"
    run_dir: str = "saved_models/chorales_ddim"
    preset: Optional[str] = None
    widths: tuple[int, ...] = (32, 64, 96, 128)
    block_type: str = "concat"
    block_depth: int = 1
    attention_levels: tuple[int, ...] = (3,)
    frequency_mixing_levels: tuple[int, ...] = ()
    frequency_attention_levels: tuple[int, ...] = ()
    condition_in_noise_embedding: bool = False
    condition_adapter_rank: int = 0
    patch_size: int = 4
    embedding_dims: int = 32
    num_heads: int = 4
    schedule: str = "offset_cosine"
    min_signal_rate: float = 0.02
    max_signal_rate: float = 0.95
    schedule_shift: float = 1.0
    ema_momentum: float = 0.999
    loss_type: str = "mae"
    prediction: str = "eps"
    min_snr_gamma: Optional[float] = None
    spectral_norm_weight: float = 0.0
    time_derivative_weight: float = 0.0
    conditioning: Optional[str] = None
    mask_kinds: tuple[str, ...] = ("none", "prefix", "suffix", "span")
    text_max_tokens: int = 16
    label_dropout: float = 0.1
    guidance_scale: float = 3.0
    guidance_rescale: float = 0.0
    guidance_interval: Optional[tuple[float, ...]] = None
    clip_sample: bool = False
    init_from: Optional[str] = None
    freeze_init_from: bool = False
    self_conditioning: bool = False
    dropout: float = 0.0
    batch_size: int = 16
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    epochs: int = 30
    steps_per_epoch: int = 50
    validation_batches: int = 4
    max_train_minutes: Optional[float] = None
    sampling_steps: int = 10
    sampler: str = "ddim"
    sampling_candidates: int = 1
    sampling_critic: str = "rules"
    griffin_lim_iters: Optional[int] = None
    sampling_precision: str = "float32"
    strategy: str = "auto"
    seed: int = 0

    def __post_init__(self):
        if self.preset is not None:
            if self.preset not in PRESETS:
                raise ParameterError(f"preset must be null or one of {tuple(PRESETS)}. Received: preset={self.preset!r}")
            for key, value in PRESETS[self.preset].items():
                current, default = getattr(self, key), self.__dataclass_fields__[key].default
                if current not in (default, value):
                    raise ParameterError(
                        f"preset {self.preset!r} sets {key} to {value!r}; drop one of them. Received: {key}={current!r}"
                    )
                object.__setattr__(self, key, value)  # frozen: the preset fills the field once, here
        _common_checks(self)
        _positive(self, "block_depth", "patch_size", "embedding_dims", "num_heads", "sampling_steps")
        integer("sampling_candidates", self.sampling_candidates, 1)
        if self.sampling_critic not in SAMPLING_CRITICS:
            raise ParameterError(f"sampling_critic must be one of {SAMPLING_CRITICS}. "
                                 f"Received: sampling_critic={self.sampling_critic!r}")
        if not self.widths or min(self.widths) <= 0:
            raise ParameterError(f"widths must be positive integers. Received: widths={self.widths}")
        if self.loss_type not in ("mae", "mse"):
            raise ParameterError(f"loss_type must be 'mae' or 'mse'. Received: loss_type={self.loss_type!r}")
        if self.griffin_lim_iters is not None:
            _positive(self, "griffin_lim_iters")
        if self.sampler not in SAMPLERS:
            raise ParameterError(f"sampler must be one of {SAMPLERS}. Received: sampler={self.sampler!r}")
        if self.sampling_precision not in PRECISIONS:
            raise ParameterError(
                f"sampling_precision must be one of {PRECISIONS}. Received: sampling_precision={self.sampling_precision!r}"
            )
        if not 0.0 <= self.guidance_rescale <= 1.0:
            raise ParameterError(f"guidance_rescale must be in [0, 1]. Received: guidance_rescale={self.guidance_rescale!r}")
        check_guidance_interval(self.guidance_interval)
        if not self.weight_decay >= 0.0:
            raise ParameterError(f"weight_decay must be >= 0 (AdamW's decoupled decay). Received: weight_decay={self.weight_decay!r}")
        if self.block_type not in BLOCK_TYPES:
            raise ParameterError(f"block_type must be one of {BLOCK_TYPES}. Received: block_type={self.block_type!r}")
        if self.schedule not in SCHEDULE_NAMES:
            raise ParameterError(f"schedule must be one of {SCHEDULE_NAMES}. Received: schedule={self.schedule!r}")
        _positive(self, "schedule_shift")
        if self.prediction not in PREDICTIONS:
            raise ParameterError(f"prediction must be one of {PREDICTIONS}. Received: prediction={self.prediction!r}")
        if self.min_snr_gamma is not None:
            _positive(self, "min_snr_gamma")
        if self.conditioning not in (None, "label", "text", "mask"):
            raise ParameterError(
                f"conditioning must be null, 'label', 'text' or 'mask'. Received: conditioning={self.conditioning!r}"
            )
        check_mask_kinds(self.mask_kinds)
        rank = self.condition_adapter_rank
        if isinstance(rank, bool) or not (isinstance(rank, int) and rank >= 0):  # a bool is an int to Python
            raise ParameterError(f"condition_adapter_rank must be an int >= 0. Received: {self.condition_adapter_rank!r}")
        for option in ("condition_in_noise_embedding", "condition_adapter_rank"):
            if getattr(self, option) and (self.block_type != "film" or self.conditioning not in ("label", "text")):
                raise ParameterError(
                    f"{option} needs block_type 'film' and conditioning 'label' or 'text'. Received: "
                    f"block_type={self.block_type!r}, conditioning={self.conditioning!r}"
                )
        if not isinstance(self.self_conditioning, bool):
            raise ParameterError(f"self_conditioning must be true or false. Received: self_conditioning={self.self_conditioning!r}")
        check_dropout(self.dropout, self.block_type)
        if self.freeze_init_from and not self.init_from:
            raise ParameterError(
                f"freeze_init_from needs init_from (the layers to keep fixed). Received: freeze_init_from=True, "
                f"init_from={self.init_from!r}"
            )
        if not 3 <= self.text_max_tokens <= 256:
            raise ParameterError(f"text_max_tokens must be in [3, 256]. Received: text_max_tokens={self.text_max_tokens!r}")
        if not 0.0 <= self.label_dropout < 1.0:
            raise ParameterError(f"label_dropout must be in [0, 1). Received: label_dropout={self.label_dropout!r}")
        if not 0.0 <= self.guidance_scale < float("inf"):
            raise ParameterError(f"guidance_scale must be a number >= 0. Received: guidance_scale={self.guidance_scale!r}")
        for name in ("spectral_norm_weight", "time_derivative_weight"):
            if not getattr(self, name) >= 0:
                raise ParameterError(f"Config key '{name}' must be >= 0. Received: {name}={getattr(self, name)!r}")
        _check_crop(self, self.patch_size * 2 ** (len(self.widths) - 1), "patch_size * 2**(len(widths)-1)")
