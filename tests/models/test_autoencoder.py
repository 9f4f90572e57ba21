"""The autoencoder baseline."""

import keras
import numpy as np
import pytest

from models.autoencoder import build_autoencoder


def test_shapes_and_range():
    autoencoder, encoder, decoder = build_autoencoder((32, 16, 1), (4, 8), (3, 3), (2, 2), latent_dim=5)
    x = np.random.default_rng(0).random((3, 32, 16, 1)).astype("float32")
    assert encoder.predict(x, verbose=0).shape == (3, 5)
    y = autoencoder.predict(x, verbose=0)
    assert y.shape == x.shape
    assert y.min() >= 0.0 and y.max() <= 1.0
    assert decoder.predict(np.zeros((1, 5), "float32"), verbose=0).shape == (1, 32, 16, 1)


def test_learns_and_reloads(tmp_path):
    autoencoder, _, _ = build_autoencoder((16, 16, 1), (8, 8), (3, 3), (2, 2), latent_dim=8)
    autoencoder.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    x = np.zeros((16, 16, 16, 1), "float32")
    x[:, 4:6] = 1.0
    history = autoencoder.fit(x, x, epochs=15, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    autoencoder.save(tmp_path / "ae.keras")
    reloaded = keras.saving.load_model(tmp_path / "ae.keras", safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), autoencoder.predict(x, verbose=0), atol=1e-5)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(conv_filters=(4,), conv_kernels=(3, 3), conv_strides=(2, 2)), "equal length"),
        (dict(conv_filters=(4, 4, 4, 4, 4, 4), conv_kernels=(3,) * 6, conv_strides=(2,) * 6), "divisible"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_autoencoder((32, 16, 1), latent_dim=4, **kwargs)
