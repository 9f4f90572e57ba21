"""The learned critic's features, fit, scores and file (`generate.learned_critic`)."""

import numpy as np
import pytest

from common.errors import ParameterError
from generate.learned_critic import FEATURE_NAMES, LearnedCritic, roll_features


def block_chords(chords, length=4):
    """Notes ``(pitch, start, end)`` of block chords, one every ``length`` steps."""
    return np.array([(p, i * length, (i + 1) * length) for i, pitches in enumerate(chords) for p in pitches])


def feature(features, name):
    return features[FEATURE_NAMES.index(name)]


def test_features_of_four_part_block_chords():
    # C major, F major, G major, C major: four pitches at every step, all on the beat, no clash
    notes = block_chords([(72, 67, 64, 48), (72, 69, 65, 53), (71, 67, 62, 55), (72, 67, 64, 48)])
    features = roll_features(notes, 16)
    assert features.shape == (len(FEATURE_NAMES),) and features.dtype == np.float64
    assert feature(features, "steps_with_4_pitches") == 1.0
    assert feature(features, "semitone_clash_share") == 0.0
    assert feature(features, "onsets_on_the_beat") == 1.0
    assert feature(features, "steps_with_4_onsets") == pytest.approx(4 / 16)
    assert feature(features, "notes_per_step") == pytest.approx(16 / 16)
    assert feature(features, "soprano_mean") == pytest.approx((72 * 3 + 71) / 4)
    assert feature(features, "bass_leap_share") == pytest.approx(2 / 3)  # 48-53-55-48: leaps of 5 and 7, a step of 2
    # sounding pitch classes, top down: C G E C, C A F F, B G D G, C G E C (4 steps each): 5 Cs in 16
    assert feature(features, "pitch_class_0") == pytest.approx(5 / 16)
    assert sum(feature(features, f"interval_class_{k}") for k in range(7)) == pytest.approx(1.0)


def test_a_semitone_and_a_thin_texture_show_in_the_features():
    notes = block_chords([(72, 71, 64), (72, 71, 64)])  # C-B-E: a semitone (ic 1), three pitches
    features = roll_features(notes, 8)
    assert feature(features, "semitone_clash_share") == 1.0
    assert feature(features, "steps_with_3_pitches") == 1.0 and feature(features, "steps_with_4_pitches") == 0.0
    assert feature(features, "interval_class_1") == pytest.approx(1 / 3)  # pairs C-B, C-E, B-E: ic 1, 4, 5


def sets(n, rng):
    """Clips like the data (four pitches, consonant) and like a weak model (three pitches, a semitone)."""
    real, generated = [], []
    for _ in range(n):
        root = int(rng.integers(-2, 3))
        real.append((block_chords([(72 + root, 67 + root, 64 + root, 48 + root)] * 4), 16))
        generated.append((block_chords([(72 + root, 71 + root, 64 + root)] * 4), 16))
    return real, generated


def test_a_fitted_critic_prefers_clips_like_the_real_ones_and_survives_its_file(tmp_path):
    real, generated = sets(12, np.random.default_rng(0))
    critic = LearnedCritic.fit(real, generated, folds=3)
    assert critic.info["cross_validated_auc"] > 0.9
    assert critic.info["real_clips"] == 12 and critic.info["generated_clips"] == 12
    assert (critic.logits(real) > 0).all() and (critic.logits(generated) < 0).all()
    assert critic.score(*real[0]) < critic.score(*generated[0])  # lower is better, as rule_breaks
    loaded = LearnedCritic.load(critic.save(tmp_path / "critic.json"))
    np.testing.assert_allclose(loaded.logits(real + generated), critic.logits(real + generated))


def test_bad_critic_input_is_refused_by_name(tmp_path):
    real, generated = sets(3, np.random.default_rng(1))
    with pytest.raises(ParameterError, match="at least 5"):
        LearnedCritic.fit(real, generated)
    with pytest.raises(ParameterError, match="regularisation"):
        LearnedCritic.fit(real, generated, folds=2, regularisation=0.0)
    path = tmp_path / "critic.json"
    path.write_text('{"features": ["other"], "mean": [], "scale": [], "coef": [], "intercept": 0}')
    with pytest.raises(ParameterError, match="other features.*critic.json"):
        LearnedCritic.load(path)
    with pytest.raises(ParameterError, match="not found"):
        LearnedCritic.load(tmp_path / "missing.json")
