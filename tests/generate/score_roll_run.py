"""A tiny score-roll DDIM run on four-part MIDI files, shared by the harmonisation and evaluation tests.

Import the fixture into a test file: ``from tests.generate.score_roll_run import roll_run  # noqa: F401``.
"""

import pretty_midi
import pytest

from conftest import TINY_MODELS, set_args, tiny_preprocess_config
from preprocessing.pipeline import PreprocessingPipeline
from train import diffusion as train_diffusion

SATB = {"Soprano": 72, "Alto": 67, "Tenor": 64, "Bass": 48}  # a C major chord, moved by a step per half bar


def write_midi(path, parts, quarter_s=0.5):
    """A MIDI file (120 bpm) of named parts: ``{name: [(pitch, start step, end step)]}`` in sixteenths."""
    midi = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=120.0)
    for name, notes in parts.items():
        part = pretty_midi.Instrument(program=19, name=name)
        part.notes = [pretty_midi.Note(90, int(p), s * quarter_s / 4, e * quarter_s / 4) for p, s, e in notes]
        midi.instruments.append(part)
    midi.write(str(path))
    return path


def chorale_like(seconds=4.0):
    """Four named parts of half notes (8 steps), each piece's chord a step higher every half bar."""
    steps = int(seconds * 8)
    return {name: [(base + (k // 8) % 3, k, k + 8) for k in range(0, steps, 8)] for name, base in SATB.items()}


def train_roll_run(root, *extra, voices=None):
    """``(run folder, data set)``: a tiny DDIM (``extra`` config pairs) on 48 x 16 x 2 score rolls of four-part MIDI
    files (``voices``: part names, 48 x 16 x 2 * len(voices) voice rolls)."""
    (root / "midi").mkdir()
    for i in range(8):
        write_midi(root / "midi" / f"piece{i:02d}.mid", chorale_like(3.0 + i % 3))
    config = tiny_preprocess_config(root / "midi", root / "data", representation="score_roll", clip_duration_s=2.0,
                                    **{"score_roll.voices": voices})
    PreprocessingPipeline(config).run(progress=False)
    pairs = [f"data_dir={root / 'data'}", f"run_dir={root / 'run'}", "epochs=1", "steps_per_epoch=2",
             "validation_batches=0", "sampling_steps=2", *TINY_MODELS["ddim"], *extra]
    assert train_diffusion.main(set_args(pairs)) == 0
    return root / "run", root / "data"


@pytest.fixture(scope="module")
def roll_run(tmp_path_factory):
    """``(run folder, data set)``: a tiny unconditional score-roll DDIM."""
    return train_roll_run(tmp_path_factory.mktemp("roll"))


@pytest.fixture(scope="module")
def mask_roll_run(tmp_path_factory):
    """``(run folder, data set)``: a tiny score-roll DDIM conditioned on a known part (``conditioning: mask``)."""
    return train_roll_run(tmp_path_factory.mktemp("mask_roll"), "conditioning=mask",
                          "mask_kinds=[none,prefix,span,top_voice]")


@pytest.fixture(scope="module")
def voice_roll_run(tmp_path_factory):
    """``(run folder, data set)``: a tiny mask-conditioned DDIM on voice rolls (soprano, alto, tenor, bass: 8 channels)."""
    return train_roll_run(tmp_path_factory.mktemp("voice_roll"), "conditioning=mask",
                          "mask_kinds=[none,prefix,span,top_voice]", voices=list(SATB))
