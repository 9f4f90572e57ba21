"""The rule critic and best-of-K sampling of score-roll DDIMs (`generate.rule_critic`)."""

import json

import numpy as np
import pytest

from common.errors import ParameterError
from generate import sounds
from generate.rule_critic import CANDIDATE_SEED_STRIDE, best_of_candidates, candidate_seeds, rule_breaks
from generate.trained_model import TrainedModel
from tests.generate.score_roll_run import roll_run  # noqa: F401 (a fixture)


def chords(*pitch_sets, length=4):
    """Notes ``(pitch, start, end)`` of block chords, one every ``length`` steps."""
    return np.array([(p, i * length, (i + 1) * length) for i, pitches in enumerate(pitch_sets) for p in pitches])


def test_a_clip_without_clashes_or_parallels_breaks_no_rule():
    # C major, F major (soprano and bass in contrary motion), G major: no semitone, no parallel
    notes = chords((72, 67, 64, 48), (72, 69, 65, 53), (71, 67, 62, 55))
    assert rule_breaks(notes, 12) == 0.0


def test_a_semitone_clash_counts_as_its_share_of_the_chords():
    # the second of four chords holds B against C (a semitone modulo the octave): 1 chord in 4
    notes = chords((72, 67, 64, 48), (72, 67, 59, 48), (72, 67, 64, 48), (72, 67, 64, 48))
    assert rule_breaks(notes, 16) == pytest.approx(0.25)


def test_parallel_fifths_count_as_their_share_of_the_moving_voice_pairs():
    # soprano and bass a twelfth apart move up a tone together: one parallel fifth among one moving pair
    notes = chords((67, 48), (69, 50))
    assert rule_breaks(notes, 8) == pytest.approx(1.0)
    # the same motion in contrary motion is no parallel
    assert rule_breaks(chords((67, 48), (65, 50)), 8) == 0.0


def test_candidate_seeds_keep_the_plain_sample_first_and_refuse_bad_input():
    assert candidate_seeds([0, 5], 3) == [[0, 5], [CANDIDATE_SEED_STRIDE, CANDIDATE_SEED_STRIDE + 5],
                                          [2 * CANDIDATE_SEED_STRIDE, 2 * CANDIDATE_SEED_STRIDE + 5]]
    with pytest.raises(ParameterError, match="candidates=0"):
        candidate_seeds([0], 0)
    with pytest.raises(ParameterError, match=r"seeds=\[-1\]"):
        candidate_seeds([-1], 2)


def test_best_of_candidates_keeps_each_seeds_candidate_with_the_fewest_rule_breaks():
    """A fake sampler whose candidate j of seed s clashes in (s + j) % 3 of 3 chords: the fewest clashes win."""
    clean, clash = (72, 67, 64, 48), (72, 67, 59, 48)

    def sample(seeds):  # values (n, 1, 12, 1) carry the seed; to_notes turns it into chords
        return np.array(seeds, dtype=np.int64).reshape(-1, 1, 1, 1) * np.ones((1, 1, 12, 1), np.int64)

    def to_notes(values):
        seed = int(values[0, 0, 0])
        j, s = divmod(seed, CANDIDATE_SEED_STRIDE)
        bad = (s + j) % 3
        return chords(*([clash] * bad + [clean] * (3 - bad)))

    kept, chosen, scores = best_of_candidates(sample, [0, 1, 2], 3, to_notes)
    # seed 0: candidates clash 0, 1, 2 of 3 -> j 0; seed 1: 1, 2, 0 -> j 2; seed 2: 2, 0, 1 -> j 1
    assert chosen.tolist() == [0, 2, 1]
    assert kept[:, 0, 0, 0].tolist() == [0, 2 * CANDIDATE_SEED_STRIDE + 1, CANDIDATE_SEED_STRIDE + 2]
    assert scores.shape == (3, 3) and np.allclose(scores.min(axis=1), 0.0)
    # one candidate: the plain samples, unscored
    kept, chosen, _ = best_of_candidates(sample, [4, 7], 1, to_notes)
    assert kept[:, 0, 0, 0].tolist() == [4, 7] and chosen.tolist() == [0, 0]


def test_a_score_roll_model_keeps_the_candidate_the_critic_prefers(roll_run, tmp_path):
    run_dir, _ = roll_run
    model = TrainedModel(run_dir)
    codec = model.sound_generator.codec
    kept = model.spectrograms(seeds=[3, 4], candidates=3)
    plain = [model.spectrograms(seeds=seeds, candidates=1) for seeds in candidate_seeds([3, 4], 3)]
    for i in range(2):
        scores = [rule_breaks(codec.transform.decode(codec.denormalise(p[i])), p.shape[2]) for p in plain]
        j = int(np.argmin(scores))
        np.testing.assert_allclose(kept[i], plain[j][i], atol=1e-5)
    # the CLI: --candidates reaches the report and the figure's title
    out = tmp_path / "out"
    assert sounds.main(["--model", str(run_dir), "--num", "2", "--candidates", "2", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["candidates"] == 2 and report["critic"] == "rules"


def test_candidates_are_refused_for_a_model_that_is_not_a_score_roll(runs, tmp_path, capsys):
    model = TrainedModel(runs / "ddim")
    with pytest.raises(ParameterError, match="candidates=2"):
        model.spectrograms(seeds=[0], candidates=2)
    out = tmp_path / "out"
    assert sounds.main(["--model", str(runs / "ddim"), "--num", "1", "--candidates", "2", "--out", str(out)]) == 2
    assert "candidates=2" in capsys.readouterr().err and not out.exists()


def test_only_a_score_roll_ddim_counts_as_sampling_score_rolls(roll_run, runs):
    # the one test that candidates, harmonisation and bar filling share (`TrainedModel.samples_score_rolls`)
    run_dir, _ = roll_run
    assert TrainedModel(run_dir).samples_score_rolls
    assert not TrainedModel(runs / "ddim").samples_score_rolls
    assert not TrainedModel(runs / "ae").samples_score_rolls


def test_a_learned_critic_is_fitted_to_the_run_and_keeps_the_candidate_it_scores_highest(roll_run, tmp_path, capsys):
    from generate import fit_critic, learned_critic

    run_dir, data_dir = roll_run
    model = TrainedModel(run_dir)
    with pytest.raises(ParameterError, match="python -m generate.fit_critic"):  # no critic.json yet
        model.spectrograms(seeds=[3], candidates=2, critic="learned")
    with pytest.raises(ParameterError, match="critic='judge'"):
        model.sampling_options(candidates=2, critic="judge")
    assert fit_critic.main(["--model", str(run_dir), "--num", "6", "--seed", "-1"]) == 2
    assert "--seed must be" in capsys.readouterr().err and not (run_dir / learned_critic.CRITIC_FILE).exists()
    assert fit_critic.main(["--model", str(run_dir), "--num", "6", "--seed", "500"]) == 0
    assert "cross-validated ROC AUC" in capsys.readouterr().out
    critic = learned_critic.LearnedCritic.load(run_dir / learned_critic.CRITIC_FILE)
    assert critic.info["generated_clips"] == 6 and critic.info["real_clips"] == len(learned_critic.training_clips(data_dir))

    model = TrainedModel(run_dir)
    codec = model.sound_generator.codec
    kept = model.spectrograms(seeds=[3, 4], candidates=3, critic="learned")
    plain = [model.spectrograms(seeds=seeds, candidates=1) for seeds in candidate_seeds([3, 4], 3)]
    for i in range(2):
        logits = critic.logits([(codec.transform.decode(codec.denormalise(p[i])), p.shape[2]) for p in plain])
        np.testing.assert_allclose(kept[i], plain[int(np.argmax(logits))][i], atol=1e-5)
    out = tmp_path / "out"
    assert sounds.main(["--model", str(run_dir), "--num", "2", "--candidates", "2", "--critic", "learned",
                        "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["candidates"] == 2 and report["critic"] == "learned"


def test_a_learned_critic_needs_a_score_roll_model(runs, capsys):
    from generate import fit_critic

    assert fit_critic.main(["--model", str(runs / "ddim"), "--num", "6"]) == 2
    assert "needs a DDIM trained on score rolls" in capsys.readouterr().err
