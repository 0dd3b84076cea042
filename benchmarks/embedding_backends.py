"""Would ONNX Runtime or int8 quantisation embed faster than torch, with the same vectors?

    .venv/bin/pip install onnx   # the exporter's only extra need; not a project dependency
    .venv/bin/python -m benchmarks.embedding_backends [--chunks 320]

Exports the packaged all-MiniLM-L6-v2 to ONNX (fp32) and quantises it (dynamic int8) into a
temporary folder, then embeds the same 1000-character chunks of the sample manuals with
each backend at the ingest batch size, and prints chunks/s and how close the vectors are
to the torch ones (cosine; ingest and queries must agree, so < 0.99 is a different model).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from app.ops.offline import enforce_offline

BATCH = 64


def main() -> None:
    enforce_offline()
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunks", type=int, default=320)
    args = parser.parse_args()

    import onnxruntime as ort
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from sentence_transformers import SentenceTransformer

    from ingest.chunking import make_splitter
    from ingest.embedding import packaged_model_dir
    from ingest.sources import read_units

    texts: list[str] = []
    splitter = make_splitter(1000, 200)
    for pdf in sorted(Path("samples/documents").glob("*.pdf")):
        for unit in read_units(pdf):
            texts += splitter.split_text(unit.text)
    texts = texts[:args.chunks]
    st = SentenceTransformer(str(packaged_model_dir()), device="cpu", local_files_only=True)
    tokenizer = st.tokenizer
    out = Path(tempfile.mkdtemp(prefix="plantops-onnx-"))
    fp32, int8 = out / "model.onnx", out / "model-int8.onnx"

    class LastHidden(torch.nn.Module):
        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # type: ignore[no-untyped-def]
            return self.model(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = tokenizer(["hello"], return_tensors="pt")
    torch.onnx.export(LastHidden(st[0].auto_model.eval()), tuple(sample[n] for n in names),
                      str(fp32), input_names=names, output_names=["last_hidden_state"],
                      dynamic_axes={n: {0: "batch", 1: "seq"} for n in
                                    [*names, "last_hidden_state"]},
                      opset_version=17, dynamo=False)
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)

    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1

    def onnx_backend(path: Path) -> Callable[[list[str]], np.ndarray]:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

        def embed(batch: list[str]) -> np.ndarray:
            enc = tokenizer(batch, padding=True, truncation=True,
                            max_length=st.max_seq_length, return_tensors="np")
            hidden = session.run(None, {n: enc[n].astype(np.int64) for n in names})[0]
            mask = enc["attention_mask"][..., None].astype(np.float32)
            vectors = (hidden * mask).sum(1) / mask.sum(1)  # mean pooling, as the model card
            return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        return embed

    def torch_backend(batch: list[str]) -> np.ndarray:
        return st.encode(batch, batch_size=BATCH, normalize_embeddings=True)

    def measure(embed: Callable[[list[str]], np.ndarray]) -> tuple[float, np.ndarray]:
        started = time.perf_counter()
        vectors = np.concatenate([embed(texts[i:i + BATCH])
                                  for i in range(0, len(texts), BATCH)])
        return len(texts) / (time.perf_counter() - started), vectors

    measure(torch_backend)  # warm-up
    torch_rate, reference = measure(torch_backend)
    print(f"{len(texts)} chunks of ~1000 characters, batch {BATCH}, "
          f"{os.cpu_count()} threads")
    print(f"  torch (the ingest default)  {torch_rate:6.1f} chunks/s")
    for label, path in (("onnx fp32", fp32), ("onnx int8 (dynamic)", int8)):
        rate, vectors = measure(onnx_backend(path))
        cosine = (vectors * reference).sum(1)
        print(f"  {label:26s} {rate:6.1f} chunks/s ({rate / torch_rate:.2f}x), cosine to "
              f"torch vectors: mean {cosine.mean():.4f}, min {cosine.min():.4f}")


if __name__ == "__main__":
    main()
