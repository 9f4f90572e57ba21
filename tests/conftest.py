"""Shared fixtures: a tiny preprocessed dataset made from synthetic harmonic tones.

The tiny transform (8 kHz, n_fft 256, hop 64, 1.024 s clips) gives 128 x 128
spectrograms, so tiny models train in seconds on a CPU.

Layout: the tests of package ``P`` are in ``tests/P/`` (``tests/models/test_unet.py`` tests
``models/unet.py``); tests that cross packages (end to end, the import layers) are here at the
top. The folders have no ``__init__.py``: pytest's default import mode imports a test file by its
basename, so every test file's name is unique across the folders, and ``tests/models`` is not a
package that could shadow ``models``. A helper beside the tests is imported by its full name
(``from tests.models.diffusion_helpers import tiny_model``); the fixtures and helpers of this file
reach every folder below it.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import soundfile as sf  # noqa: E402

from common.config import load_config  # noqa: E402
from preprocessing.config import PreprocessConfig  # noqa: E402
from preprocessing.pipeline import PreprocessingPipeline  # noqa: E402

TINY_SAMPLE_RATE = 8000
# ``--set`` overrides that make the default configs' models tiny (seconds to train on the tiny dataset)
TINY_MODELS = {
    "ddim": ["batch_size=4", "widths=[8,16]", "block_depth=1", "attention_levels=[]", "frequency_mixing_levels=[]",
             "embedding_dims=8"],
    "autoencoder": ["batch_size=4", "conv_filters=[4,8]", "conv_kernels=[3,3]", "conv_strides=[2,2]", "latent_dim=8"],
}


def set_args(pairs):
    """``["k=v", ...]`` -> ``["--set", "k=v", ...]`` for a CLI's argv."""
    return [arg for pair in pairs for arg in ("--set", pair)]


def write_tones(folder, count=8, seconds=3.0, sample_rate=TINY_SAMPLE_RATE):
    """Write ``count`` WAVs of decaying harmonic notes (a few per file) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    for i in range(count):
        note_s = 0.5
        f0 = 110.0 * 2 ** (((i * 5 + 7 * (t // note_s)) % 24) / 12)
        envelope = np.exp(-3.0 * (t % note_s))
        y = sum(0.3 / k * np.sin(2 * np.pi * f0 * k * t) for k in range(1, 5)) * envelope
        sf.write(folder / f"tone{i:02d}.wav", y.astype(np.float32), sample_rate)
    return folder


def tiny_preprocess_config(input_dir, output_dir, **overrides):
    """A PreprocessConfig for the tiny dataset."""
    values = dict(
        source="folder", input_dir=str(input_dir), output_dir=str(output_dir), sample_rate=TINY_SAMPLE_RATE,
        n_fft=256, win_length=256, hop_length=64, clip_duration_s=1.024, validation_fraction=0.25,
        test_fraction=0.25, num_workers=1,
    )
    values.update(overrides)
    return load_config(PreprocessConfig, None, values)


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory):
    """Path of a preprocessed tiny dataset (128 x 128 clips, every split non-empty)."""
    root = tmp_path_factory.mktemp("tiny")
    audio = write_tones(root / "audio")
    config = tiny_preprocess_config(audio, root / "stft")
    report = PreprocessingPipeline(config).run(progress=False)
    assert not report.skipped
    return root / "stft"


@pytest.fixture(scope="session")
def runs(tiny_dataset, tmp_path_factory):
    """Folder holding two tiny trained run folders, ``ddim`` and ``ae``, on the tiny dataset."""
    from train import autoencoder as train_autoencoder
    from train import diffusion as train_diffusion

    root = tmp_path_factory.mktemp("runs")
    common = [f"data_dir={tiny_dataset}", "epochs=1", "steps_per_epoch=2", "validation_batches=0"]
    ddim = common + TINY_MODELS["ddim"] + [f"run_dir={root / 'ddim'}", "sampling_steps=2"]
    ae = common + TINY_MODELS["autoencoder"] + [f"run_dir={root / 'ae'}"]
    assert train_diffusion.main(set_args(ddim)) == 0
    assert train_autoencoder.main(set_args(ae)) == 0
    return root
