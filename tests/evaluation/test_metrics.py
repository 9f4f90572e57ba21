"""FAD, KID, spectrogram metrics and degradations on synthetic cases with known answers."""

import numpy as np
import pytest

from common.errors import ParameterError
from evaluation.compare import AudioSet, format_table, score_sets
from evaluation.degradations import add_white_noise, low_pass
from evaluation.frechet import frechet_audio_distance, frechet_distance
from evaluation.kid import kernel_inception_distance, polynomial_kernel, unbiased_mmd2
from evaluation.spectrogram_metrics import spectrogram_mse, spectrogram_ssim


def gaussian(n, dim, seed, shift=0.0):
    return np.random.default_rng(seed).standard_normal((n, dim)) + shift


def test_fad_of_a_set_with_itself_is_zero():
    x = gaussian(300, 8, 0)
    assert frechet_audio_distance(x, x)["fad"] == pytest.approx(0.0, abs=1e-8)


def test_fad_of_a_shifted_set_is_the_squared_shift():
    x = gaussian(300, 8, 0)
    shift = np.arange(8) / 4.0
    result = frechet_audio_distance(x, x + shift)
    assert result["fad"] == pytest.approx(float(shift @ shift), rel=1e-6)
    assert (result["n_reference"], result["n_candidate"], result["dim"]) == (300, 300, 8)


def test_frechet_distance_of_diagonal_gaussians_has_the_closed_form():
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    mu_1, mu_2 = np.zeros(3), np.array([1.0, 0.0, 2.0])
    distance, regularised = frechet_distance(mu_1, np.diag(a), mu_2, np.diag(b))
    expected = 5.0 + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)  # ||mu||^2 + sum (sqrt a - sqrt b)^2
    assert distance == pytest.approx(expected, rel=1e-9)
    assert not regularised


def test_singular_covariances_are_regularised():
    sigma = np.zeros((4, 4))
    sigma[0, 0] = 1.0
    distance, regularised = frechet_distance(np.zeros(4), sigma, np.ones(4), sigma)
    assert regularised
    assert np.isfinite(distance) and distance == pytest.approx(4.0, abs=1e-3)


def test_fad_needs_more_samples_than_dimensions():
    with pytest.warns(UserWarning, match="n_reference=50"):
        result = frechet_audio_distance(gaussian(50, 200, 0), gaussian(300, 200, 1))
    assert result["fad"] is None


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.full((10, 3), np.nan), "non_finite=30"),
        (np.zeros(10), r"shape=\(10,\)"),
        (np.zeros((10, 4)), "candidate_dim=4"),
    ],
)
def test_fad_and_kid_reject_bad_embeddings(bad, match):
    for metric in (frechet_audio_distance, kernel_inception_distance):
        with pytest.raises(ParameterError, match=match):
            metric(np.zeros((10, 3)), bad)


def test_unbiased_mmd_matches_the_formula_written_out():
    x, y = gaussian(6, 3, 0), gaussian(6, 3, 1, shift=0.5)
    k = lambda a, b: (a @ b / 3 + 1) ** 3  # noqa: E731
    m = 6
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / m**2
    assert unbiased_mmd2(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-10)
    assert polynomial_kernel(x, y).shape == (6, 6)
    # the whole-set KID with one subset is the same estimate (MMD does not depend on order)
    assert kernel_inception_distance(x, y, subset_size=6, n_subsets=1)["kid"] == pytest.approx(xx + yy - 2 * xy)


def test_kid_is_near_zero_for_one_distribution_and_grows_with_the_shift():
    x = gaussian(400, 16, 0)
    same = kernel_inception_distance(x, gaussian(400, 16, 1), subset_size=100, n_subsets=50)
    near = kernel_inception_distance(x, gaussian(400, 16, 2, shift=0.2), subset_size=100, n_subsets=50)
    far = kernel_inception_distance(x, gaussian(400, 16, 3, shift=1.0), subset_size=100, n_subsets=50)
    assert abs(same["kid"]) < 3 * same["kid_std"] + 1e-3
    assert same["kid"] < near["kid"] < far["kid"]
    assert same["kid_std"] > 0 and same["subset_size"] == 100


def test_ssim_and_mse_of_known_pairs():
    rng = np.random.default_rng(0)
    clean = rng.uniform(size=(3, 32, 24)).astype(np.float32)
    noisy = np.clip(clean + rng.normal(0, 0.2, clean.shape), 0, 1).astype(np.float32)
    np.testing.assert_allclose(spectrogram_ssim(clean, clean), 1.0, atol=1e-5)
    assert np.all(spectrogram_ssim(noisy, clean) < 0.9)
    np.testing.assert_allclose(spectrogram_mse(np.full((2, 16, 16), 0.5), np.zeros((2, 16, 16))), 0.25)
    with pytest.raises(ParameterError, match="shapes"):
        spectrogram_mse(clean, clean[:, :16])
    with pytest.raises(ParameterError, match=r"shape=\(8, 24\)"):
        spectrogram_ssim(clean[:, :8], clean[:, :8])


def test_white_noise_has_the_requested_snr():
    t = np.arange(16000 * 4) / 16000
    audio = 0.5 * np.sin(2 * np.pi * 440 * t)
    noise = add_white_noise(audio, snr_db=20.0, seed=1) - audio
    snr = 10 * np.log10(np.mean(audio**2) / np.mean(noise**2))
    assert snr == pytest.approx(20.0, abs=0.2)


def test_low_pass_keeps_the_band_and_cuts_above_the_cutoff():
    t = np.arange(16000 * 2) / 16000
    low, high = np.sin(2 * np.pi * 1000 * t), np.sin(2 * np.pi * 6000 * t)
    level = lambda a: 20 * np.log10(np.sqrt(np.mean(a[4000:-4000] ** 2)))  # noqa: E731
    assert level(low_pass(low, 16000, 4000.0)) - level(low) == pytest.approx(0.0, abs=0.1)
    assert level(low_pass(high, 16000, 4000.0)) - level(high) < -60
    with pytest.raises(ParameterError, match="cutoff_hz=8000"):
        low_pass(low, 16000, 8000)


class MomentsEmbedder:
    """A stand-in embedder: (mean, std, max) of each clip, 3-d."""

    def embed(self, clips, sample_rate):
        return np.array([[np.mean(c), np.std(c), np.max(c)] for c in clips])


def test_score_sets_rows_and_sample_rate_check():
    rng = np.random.default_rng(0)
    reference = AudioSet("ref", [rng.normal(0, 1, 256) for _ in range(50)], 8000, "reference")
    same = AudioSet("same", reference.clips, 8000, "floor")
    louder = AudioSet("louder", [3 * c for c in reference.clips], 8000, "ceiling", {"ssim": 0.5})
    rows = score_sets(reference, [same, louder], MomentsEmbedder(), kid_subset_size=20, kid_subsets=10)
    assert [r["name"] for r in rows] == ["same", "louder"]
    assert rows[0]["fad"] == pytest.approx(0.0, abs=1e-9) and rows[1]["fad"] > 1.0
    assert rows[1]["ssim"] == 0.5 and rows[1]["n_candidate"] == 50
    assert "louder" in format_table(rows)
    with pytest.raises(ParameterError, match="sample_rate=16000, reference_sample_rate=8000"):
        score_sets(reference, [AudioSet("other", reference.clips, 16000)], MomentsEmbedder())
