"""The randomness of one training element of the diffusion task, drawn from stateless seeds.

`forward_draws` draws what the forward process q(x_t | x_0) (Ho et al. 2020, eq. 4) needs,
the noise and the diffusion time; `conditional_draws` adds classifier-free guidance's
condition dropout, and `mask_draws` the known region of a model that learns to fill in
(``conditioning: mask``). All three run inside a ``tf.data`` map (`train.data.SpectrogramData.stream`),
so that an example's noise depends on its seeds only.
"""

import numpy as np

from common.errors import ParameterError
from common.validation import integer


def forward_draws(image, seeds):
    """One training element with its forward-process randomness drawn from stateless seeds.

    ``eps ~ N(0, I)`` of the image's shape from ``seeds[0]`` and the diffusion time
    ``t ~ U[0, 1)`` from ``seeds[1]`` (``tf.random.stateless_normal`` / ``stateless_uniform``),
    so the noise of a training example depends on its seeds only, not on the batch it
    falls in or the replica that trains it (`train.data.SpectrogramData.stream`).

    Args:
        image: float32 ``(*data_shape)``, stored scale.
        seeds: int ``(2, 2)``, two stateless-RNG seeds.
    Returns:
        ``(image, noise (*data_shape), diffusion_time (1, 1, 1))``, all float32; batched, it is
        what `DiffusionModel.train_step` takes.
    """
    import tensorflow as tf

    noise = tf.random.stateless_normal(tf.shape(image), seed=seeds[0])
    diffusion_time = tf.random.stateless_uniform((1, 1, 1), seed=seeds[1])
    return image, noise, diffusion_time


def conditional_draws(label_dropout, null_label, context_table=None):
    """`forward_draws` for a conditional model, with classifier-free guidance's condition dropout.

    Returns ``f(image, seeds, index) -> (image, noise, diffusion_time, label)`` where the
    class index is replaced by ``null_label`` (the "no condition" index) with probability
    ``label_dropout`` (a stateless draw from ``seeds[1]``), so one network learns the
    conditional and the unconditional model together (Ho and Salimans, "Classifier-Free
    Diffusion Guidance", 2022, Algorithm 1, p_uncond). With ``context_table`` (a text model:
    ``(tokens (U + 1, T, D), mask (U + 1, T))``, the encoded captions and, at ``null_label``
    = U, the null prompt of `DiffusionModel.null_conditions`), the index picks a caption and
    the element ends with that caption's ``tokens, mask`` instead of a label.

    Args:
        label_dropout: float in [0, 1).
        null_label: int, the "no condition" index (the number of classes or captions).
        context_table: None, or the pair of float32 arrays above.
    """
    import tensorflow as tf

    table = None if context_table is None else tuple(tf.constant(np.asarray(t, "float32")) for t in context_table)

    def draw(image, seeds, label):
        image, noise, diffusion_time = forward_draws(image, seeds)
        dropped = tf.random.stateless_uniform((), seed=tf.reverse(seeds[1], [0])) < label_dropout
        label = tf.where(dropped, tf.cast(null_label, tf.int32), tf.cast(label, tf.int32))
        if table is None:
            return image, noise, diffusion_time, label
        return image, noise, diffusion_time, tf.gather(table[0], label), tf.gather(table[1], label)

    return draw


MASK_KINDS = ("none", "prefix", "suffix", "span", "top_voice")


def check_mask_kinds(mask_kinds):
    """``mask_kinds`` as a tuple if it is a non-empty sequence of names of `MASK_KINDS`.

    Raises:
        ParameterError: for an empty sequence or an unknown kind, naming them.
    """
    kinds = tuple(mask_kinds)
    if not kinds or any(k not in MASK_KINDS for k in kinds):
        raise ParameterError(f"mask_kinds must name some of {MASK_KINDS}. Received: mask_kinds={list(kinds)}")
    return kinds


def mask_draws(mask_kinds, sounding_channel=1, n_voices=None):
    """`forward_draws` for a model conditioned on a known part of the sample (Palette).

    Returns ``f(image, seeds) -> (image, noise, diffusion_time, mask)``, where ``mask`` float32
    (the image's shape, 1 known, 0 to be generated) is one of ``mask_kinds``, drawn uniformly
    (name a kind twice to draw it twice as often) from stateless seeds derived from ``seeds[1]``.
    Training on such masks teaches one network inpainting, outpainting and (with ``"none"``)
    unconditional sampling (Saharia et al., "Palette: Image-to-Image Diffusion Models",
    SIGGRAPH 2022, Sec. 4, where the masks are drawn the same way). The kinds, on the image's
    ``(rows, columns, channels)`` = (frequency bins or pitches, frames or steps, channels):

    - ``none``: nothing known: the unconditional task;
    - ``prefix``: the first k columns known, k uniform in [1, columns - 1] (continuation);
    - ``suffix``: the last k columns known (a lead-in);
    - ``span``: a span of L columns unknown, L uniform in [1, columns - 1], at a uniform start,
      the rest known (filling a gap, such as bars of a piece);
    - ``top_voice``: score rolls only: the melody known, as
      `preprocessing.harmonisation.harmonisation_mask` makes it for harmonisation. In a merged
      roll (``n_voices`` None): at each column, the highest sounding row and every row above it
      (the melody and the silence above it); where nothing sounds, the rows from the melody's
      lowest row up; a roll with no note: nothing known. In a voice roll (``n_voices`` voices,
      `preprocessing.score_roll`): the first voice's channels 0 and 1 (the soprano's onsets and
      sustain), every row and column, whether it sounds or not.

    Args:
        mask_kinds: non-empty sequence of names of `MASK_KINDS`.
        sounding_channel: ``top_voice`` of a merged roll only: the channel that is 1 (> 0.5)
            while a note sounds (a score roll's sustain channel, 1).
        n_voices: None (a merged roll, or not a roll) or int >= 1: the voices of a voice roll,
            whose image has ``2 * n_voices`` channels (`ScoreRollTransform.n_voices`).
    Raises:
        ParameterError: for an empty ``mask_kinds`` or an unknown kind, naming it; for
            ``n_voices`` neither None nor an int >= 1, or 1 with ``top_voice`` (the one voice
            known leaves nothing to generate).
    """
    import tensorflow as tf

    kinds = check_mask_kinds(mask_kinds)
    if n_voices is not None and integer("n_voices", n_voices, 1) == 1 and "top_voice" in kinds:
        raise ParameterError("top_voice in a roll of one voice knows everything and leaves nothing to generate. "
                             "Received: n_voices=1")

    def columns_mask(known_columns, image):
        return tf.broadcast_to(tf.cast(known_columns, tf.float32)[None, :, None], tf.shape(image))

    def draw(image, seeds):
        image, noise, diffusion_time = forward_draws(image, seeds)
        base = tf.reverse(seeds[1], [0]) + tf.constant([1, 2], seeds.dtype)  # apart from the dropout of conditional_draws
        columns = tf.shape(image)[1]
        picks = tf.random.stateless_uniform((3,), seed=base, dtype=tf.float32)
        kind = tf.minimum(tf.cast(picks[0] * len(kinds), tf.int32), len(kinds) - 1)
        index = tf.range(columns)
        # k in [1, columns - 1]: a cut with both parts non-empty
        cut = 1 + tf.minimum(tf.cast(picks[1] * tf.cast(columns - 1, tf.float32), tf.int32), columns - 2)
        start = tf.minimum(tf.cast(picks[2] * tf.cast(columns - cut + 1, tf.float32), tf.int32), columns - cut)
        masks = {
            "none": lambda: tf.zeros_like(image),
            "prefix": lambda: columns_mask(index < cut, image),
            "suffix": lambda: columns_mask(index >= columns - cut, image),
            "span": lambda: columns_mask((index < start) | (index >= start + cut), image),
            "top_voice": lambda: (_top_voice_mask(image, sounding_channel) if n_voices is None
                                  else _first_voice_mask(image)),
        }
        branches = [masks[k] for k in kinds]
        mask = tf.switch_case(kind, branches) if len(branches) > 1 else branches[0]()
        return image, noise, diffusion_time, mask

    return draw


def _top_voice_mask(image, sounding_channel):
    """``top_voice`` of `mask_draws`: 1 at and above each column's highest sounding row (float32, the image's shape)."""
    import tensorflow as tf

    rows = tf.shape(image)[0]
    sounding = image[:, :, sounding_channel] > 0.5  # (rows, columns)
    row_index = tf.range(rows)[:, None]
    highest = tf.reduce_max(tf.where(sounding, row_index, -1), axis=0)  # (columns,), -1 where silent
    any_note = tf.reduce_any(highest >= 0)
    lowest_melody = tf.reduce_min(tf.where(highest >= 0, highest, rows))
    ceiling = tf.where(highest >= 0, highest, lowest_melody)
    known = tf.logical_and(row_index >= ceiling[None, :], any_note)
    return tf.broadcast_to(tf.cast(known, tf.float32)[:, :, None], tf.shape(image))


def _first_voice_mask(image):
    """``top_voice`` of `mask_draws` for a voice roll: 1 on the first voice's channels (0 and 1), 0 elsewhere."""
    import tensorflow as tf

    channels = tf.range(tf.shape(image)[2]) < 2  # the first onset/sustain pair
    return tf.broadcast_to(tf.cast(channels, tf.float32)[None, None, :], tf.shape(image))
