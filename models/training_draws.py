"""The randomness of one training element of the diffusion task, drawn from stateless seeds.

`forward_draws` draws what the forward process q(x_t | x_0) (Ho et al. 2020, eq. 4) needs,
the noise and the diffusion time; `conditional_draws` adds classifier-free guidance's
condition dropout. Both run inside a ``tf.data`` map (`train.data.SpectrogramData.stream`),
so that an example's noise depends on its seeds only.
"""

import numpy as np


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
