"""Tests for preprocessing.mdct (MdctTransform: companded MDCT and its exact inverse)."""

import json

import numpy as np
import pytest
import tensorflow as tf  # noqa: F401  (imported at collection, not inside the first test)

from common.errors import ParameterError
from preprocessing.mdct import COMPANDERS, WINDOW_TYPES, MdctTransform

SAMPLE_RATE = 16000


def music_like(n_samples, seed=0):
    """Harmonic tones (a chord, changing every 0.25 s, with decays) plus -40 dB noise, peak < 1."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / SAMPLE_RATE
    signal = np.zeros(n_samples)
    for f0 in (196.0, 246.9, 293.7):
        f = f0 * 2 ** (rng.integers(0, 5, size=int(t[-1] / 0.25) + 1)[(t // 0.25).astype(int)] / 12)
        phase = 2 * np.pi * np.cumsum(f) / SAMPLE_RATE
        signal += sum(np.sin(k * phase) / k**1.5 for k in range(1, 7)) * np.exp(-2.0 * (t % 0.25))
    signal = 0.25 * signal + 0.01 * rng.standard_normal(n_samples)
    return signal.astype(np.float32)


def snr_db(reference, estimate):
    reference = reference.astype(np.float64)
    return 10 * np.log10(np.sum(reference**2) / np.sum((reference - estimate) ** 2))


@pytest.mark.parametrize("window_type", WINDOW_TYPES)
@pytest.mark.parametrize("compander", COMPANDERS)
def test_round_trip_snr_above_100_db(window_type, compander):
    transform = MdctTransform(SAMPLE_RATE, frame_length=1024, window_type=window_type, compander=compander, scale=0.5)
    signal = music_like(16000 + 123)  # not a whole number of hops
    values = transform.extract(signal)
    audio = transform.invert(values, length=signal.size)
    assert audio.dtype == np.float32 and audio.shape == signal.shape
    assert snr_db(signal, audio) >= 100.0
    # The first and last half-frames are reconstructed too (the padding's purpose).
    assert snr_db(signal[:512], audio[:512]) >= 100.0
    assert snr_db(signal[-512:], audio[-512:]) >= 100.0


@pytest.mark.parametrize("frame_length", [512, 1024, 2048])
@pytest.mark.parametrize("n_samples", [1, 255, 256, 257, 4096, 16000])
def test_shapes_frames_for_and_samples_for(frame_length, n_samples):
    transform = MdctTransform(SAMPLE_RATE, frame_length=frame_length)
    hop = frame_length // 2
    values = transform.extract(music_like(n_samples))
    assert values.dtype == np.float32
    assert values.shape == (transform.n_freq_bins, transform.frames_for(n_samples))
    assert transform.n_freq_bins == hop == transform.hop_length
    assert transform.frames_for(n_samples) == -(-n_samples // hop) + 1
    n_frames = values.shape[1]
    assert transform.frames_for(transform.samples_for(n_frames)) == n_frames
    assert transform.samples_for(n_frames) >= n_samples > transform.samples_for(n_frames) - hop
    assert transform.invert(values).shape == (transform.samples_for(n_frames),)


def test_samples_for_gives_u_net_friendly_clips():
    transform = MdctTransform(SAMPLE_RATE, frame_length=1024)
    assert transform.samples_for(96) == 95 * 512
    assert transform.extract(np.zeros(transform.samples_for(96), np.float32)).shape == (512, 96)


def test_invert_length_trims_and_zero_pads():
    transform = MdctTransform(SAMPLE_RATE, frame_length=512)
    signal = music_like(2560)
    values = transform.extract(signal)  # 11 frames, samples_for = 2560
    np.testing.assert_allclose(transform.invert(values, length=1000), signal[:1000], atol=1e-5)
    longer = transform.invert(values, length=4000)  # an exact inverse: no iterations, no seed
    np.testing.assert_allclose(longer[:2560], signal, atol=1e-5)
    np.testing.assert_array_equal(longer[2816:], 0.0)  # beyond n_frames * hop: zeros


def test_row_zero_is_the_lowest_frequency():
    transform = MdctTransform(SAMPLE_RATE, frame_length=1024, compander="none")
    k = 40  # row k is centred on (k + 1/2) * sample_rate / frame_length
    t = np.arange(8192) / SAMPLE_RATE
    values = transform.extract(0.5 * np.sin(2 * np.pi * (k + 0.5) * SAMPLE_RATE / 1024 * t).astype(np.float32))
    energy = np.sum(values[:, 2:-2] ** 2, axis=1)
    assert abs(int(np.argmax(energy)) - k) <= 1
    assert energy[k - 1 : k + 2].sum() > 0.9 * energy.sum()


def test_extract_batch_matches_extract():
    transform = MdctTransform(SAMPLE_RATE, frame_length=512, compander="mu_law")
    signals = np.stack([music_like(3000, seed=s) for s in range(3)])
    batch = transform.extract_batch(signals, sample_rate=SAMPLE_RATE)
    assert batch.shape == (3, 256, transform.frames_for(3000))
    for i in range(3):
        np.testing.assert_array_equal(batch[i], transform.extract(signals[i]))


@pytest.mark.parametrize("compander, options", [("power", {"power_exponent": 0.5}), ("power", {"power_exponent": 0.25}),
                                                ("mu_law", {"mu": 255.0}), ("mu_law", {"mu": 4096.0}), ("none", {})])
def test_compander_inverse_exact_to_float32(compander, options):
    transform = MdctTransform(SAMPLE_RATE, compander=compander, scale=1.7, **options)
    rng = np.random.default_rng(0)
    coefficients = (rng.laplace(size=10000) * 10.0 ** rng.uniform(-8, 1, size=10000)).astype(np.float32)
    coefficients[:3] = [0.0, 1.7, -1.7]
    values = transform.compress(coefficients)
    assert values.dtype == np.float32
    np.testing.assert_array_equal(values[:3], np.float32([0.0, 1.0, -1.0]))  # C(0) = 0, C(scale) = 1, odd
    order = np.argsort(coefficients)
    assert np.all(np.diff(values[order]) >= 0)  # increasing
    np.testing.assert_allclose(transform.expand(values), coefficients, rtol=1e-6, atol=0)


def excess_kurtosis(values):
    values = values.astype(np.float64).ravel()
    return np.mean((values - values.mean()) ** 4) / np.var(values) ** 2 - 3.0


def test_companders_lighten_the_tails():
    signal = music_like(16000)
    raw = MdctTransform(SAMPLE_RATE, compander="none").extract(signal)
    assert excess_kurtosis(raw) > 10  # signed, heavy-tailed coefficients
    for compander in ("power", "mu_law"):
        values = MdctTransform(SAMPLE_RATE, compander=compander).extract(signal)
        assert excess_kurtosis(values) < excess_kurtosis(raw) / 3


def test_fit_scale_maps_the_percentile_to_one():
    transform = MdctTransform(SAMPLE_RATE, frame_length=512, compander="power")
    signals = [music_like(4000, seed=0), music_like(7000, seed=1)]
    fitted = transform.fit_scale(signals, percentile=99.0)
    assert isinstance(fitted, MdctTransform) and transform.scale == 1.0
    assert fitted.get_config() == {**transform.get_config(), "scale": fitted.scale}
    values = np.concatenate([fitted.extract(s).ravel() for s in signals])
    assert np.mean(np.abs(values) <= 1.0) == pytest.approx(0.99, abs=0.002)
    with pytest.raises(ParameterError, match="Received: signals="):
        transform.fit_scale([])
    with pytest.raises(ParameterError, match="Received: scale="):
        transform.fit_scale([np.zeros(1000, np.float32)])
    with pytest.raises(ParameterError, match="Received: percentile="):
        transform.fit_scale(signals, percentile=0)


def test_config_round_trip_through_json():
    transform = MdctTransform(
        22050, frame_length=2048, window_type="kaiser_bessel_derived", compander="mu_law", mu=1000,
        scale=np.float32(1.5),
    )
    config = json.loads(json.dumps(transform.get_config()))
    rebuilt = MdctTransform.from_config(config)
    assert rebuilt.get_config() == transform.get_config()
    assert repr(rebuilt) == repr(transform) and repr(rebuilt).startswith("MdctTransform(sample_rate=22050,")
    signal = np.random.default_rng(0).standard_normal(5000).astype(np.float32)
    np.testing.assert_array_equal(rebuilt.extract(signal), transform.extract(signal))
    with pytest.raises(ParameterError, match="Received: config="):
        MdctTransform.from_config({**config, "hop_length": 1024})


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"frame_length": 1023}, "frame_length=1023"),
        ({"frame_length": 1026}, "frame_length=1026"),
        ({"frame_length": 0}, "frame_length=0"),
        ({"window_type": "hann"}, "window_type='hann'"),
        ({"compander": "log"}, "compander='log'"),
        ({"power_exponent": 0.0}, "power_exponent=0.0"),
        ({"power_exponent": 1.5}, "power_exponent=1.5"),
        ({"mu": -1}, "mu=-1"),
        ({"scale": 0}, "scale=0"),
        ({"scale": float("nan")}, "scale=nan"),
        ({"sample_rate": 16000.5}, "sample_rate=16000.5"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ParameterError, match=f"Received: {match}"):
        MdctTransform(**{"sample_rate": SAMPLE_RATE, **kwargs})


def test_bad_input():
    transform = MdctTransform(SAMPLE_RATE, frame_length=512)
    signal = music_like(2000)
    with pytest.raises(ParameterError, match="Received: sample_rate=22050"):
        transform.extract(signal, sample_rate=22050)
    bad = signal.copy()
    bad[10] = np.nan
    with pytest.raises(ParameterError, match="non-finite"):
        transform.extract(bad)
    with pytest.raises(ParameterError, match=r"Received: signal.shape=\(2, 1000\)"):
        transform.extract(signal.reshape(2, 1000))
    with pytest.raises(ParameterError, match=r"Received: signals.shape=\(1, 0\)"):
        transform.extract(np.zeros(0, np.float32))
    values = transform.extract(signal)
    with pytest.raises(ParameterError, match=r"256 rows.*Received: values.shape=\(255, 9\)"):
        transform.invert(values[:-1])
    with pytest.raises(ParameterError, match=r"Received: values.shape=\(256, 1\)"):
        transform.invert(values[:, :1])
    values[3, 3] = np.inf
    with pytest.raises(ParameterError, match="Received: values=<non-finite>"):
        transform.invert(values)
    with pytest.raises(ParameterError, match="Received: length=0"):
        transform.invert(transform.extract(signal), length=0)
    with pytest.raises(ParameterError, match="Received: n_frames=1"):
        transform.samples_for(1)
    with pytest.raises(ParameterError, match="Received: n_samples=0"):
        transform.frames_for(0)
    with pytest.raises(ParameterError, match="Received: max"):
        MdctTransform(SAMPLE_RATE, frame_length=512, compander="mu_law").invert(np.full((256, 4), 500.0))
