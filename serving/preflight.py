"""Does a profile's model fit the GPUs here? Weights and KV cache from the model folder's
config.json and the profile, against the GPUs nvidia-smi reports (`plantops serve --check`,
`plantops doctor`).

The arithmetic, for decoder-only transformers of the Llama / Qwen / Mistral shape:
parameters = embeddings (twice unless tied) + per layer (q, k, v, o projections, the gated
MLP's three matrices, two norms) + the final norm; weights = parameters x bytes per parameter
(AWQ/GPTQ: 4-bit linear layers with ~3 % for scales, embeddings kept in 16 bit); KV cache per
token = 2 x layers x KV heads x head size x bytes. With tensor parallelism both split over the
GPUs. vLLM needs the weights, ~1.5 GiB of activations and CUDA graphs per GPU, and KV room for
at least one sequence of max_model_len; more concurrent sequences only need more KV room, so
the check also says how many full-length sequences fit.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from serving.settings import ModelProfile

GIB = 1024**3
OVERHEAD_BYTES = int(1.5 * GIB)  # activations, CUDA graphs, allocator slack per GPU
_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "half": 2, "auto": 2}
_QUANTISED_BYTES = 0.5 * 1.03  # 4-bit weights plus group scales and zeros


@dataclass(frozen=True)
class ModelShape:
    vocab: int
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    tied_embeddings: bool
    dtype: str

    @classmethod
    def from_config(cls, config: dict[str, object]) -> ModelShape:
        hidden, heads = int(config["hidden_size"]), int(config["num_attention_heads"])  # type: ignore[call-overload]
        return cls(vocab=int(config["vocab_size"]), hidden=hidden,  # type: ignore[call-overload]
                   layers=int(config["num_hidden_layers"]), heads=heads,  # type: ignore[call-overload]
                   kv_heads=int(config.get("num_key_value_heads", heads)),  # type: ignore[call-overload]
                   head_dim=int(config.get("head_dim") or hidden // heads),  # type: ignore[call-overload]
                   intermediate=int(config["intermediate_size"]),  # type: ignore[call-overload]
                   tied_embeddings=bool(config.get("tie_word_embeddings", False)),
                   dtype=str(config.get("torch_dtype") or config.get("dtype") or "bfloat16"))

    @property
    def embedding_parameters(self) -> int:
        return self.vocab * self.hidden * (1 if self.tied_embeddings else 2)

    @property
    def layer_parameters(self) -> int:
        attention = 2 * self.hidden * self.heads * self.head_dim \
            + 2 * self.hidden * self.kv_heads * self.head_dim
        return attention + 3 * self.hidden * self.intermediate + 2 * self.hidden

    @property
    def parameters(self) -> int:
        return self.embedding_parameters + self.layers * self.layer_parameters + self.hidden


def _dtype_bytes(profile: ModelProfile, shape: ModelShape) -> float:
    dtype = shape.dtype if profile.dtype == "auto" else profile.dtype
    return _BYTES.get(dtype, 2)


def weight_bytes(shape: ModelShape, profile: ModelProfile) -> float:
    """All weights of the model (not per GPU)."""
    if profile.quantization in ("awq", "gptq", "awq_marlin", "gptq_marlin"):
        return (shape.embedding_parameters * 2
                + (shape.parameters - shape.embedding_parameters) * _QUANTISED_BYTES)
    return shape.parameters * _dtype_bytes(profile, shape)


def kv_bytes_per_token(shape: ModelShape, profile: ModelProfile) -> float:
    """KV cache of one token over all layers (not per GPU)."""
    return 2 * shape.layers * shape.kv_heads * shape.head_dim * _dtype_bytes(profile, shape)


@dataclass(frozen=True)
class Gpu:
    name: str
    memory_bytes: int


@dataclass(frozen=True)
class Preflight:
    fits: bool
    message: str
    weights_per_gpu: float = 0.0
    kv_per_gpu: float = 0.0  # KV room for one max_model_len sequence
    usable_per_gpu: float = 0.0
    full_sequences: int = 0  # max_model_len sequences the KV room holds at once


def check(profile: ModelProfile, shape: ModelShape, gpus: list[Gpu]) -> Preflight:
    """Fit of ``profile`` on ``gpus`` (all alike; tensor_parallel_size of them per replica)."""
    tp = profile.tensor_parallel_size
    if len(gpus) < tp:
        return Preflight(False, f"does not fit: the profile needs {tp} GPUs, this host has "
                                f"{len(gpus)}")
    memory = min(g.memory_bytes for g in gpus[:tp])
    usable = memory * profile.gpu_memory_utilization
    weights = weight_bytes(shape, profile) / tp
    per_sequence = kv_bytes_per_token(shape, profile) * profile.max_model_len / tp
    room = usable - weights - OVERHEAD_BYTES
    sequences = int(room // per_sequence) if room > 0 else 0
    figures = (f"{weights / GIB:.1f} GiB weights + {per_sequence / GIB:.1f} GiB KV per "
               f"{profile.max_model_len}-token sequence of {usable / GIB:.1f} GiB usable per GPU")
    if sequences < 1:
        shorter = int(max(room, 0) / (kv_bytes_per_token(shape, profile) / tp)) // 256 * 256
        advice = (f"lower max_model_len to {shorter}" if shorter >= 256 else
                  "use more GPUs (tensor_parallel_size) or a quantised model")
        return Preflight(False, f"does not fit: {figures}; {advice}", weights, per_sequence,
                         usable, 0)
    note = ("" if sequences >= profile.max_num_seqs else
            f"; {sequences} full-length sequences at once (max_num_seqs "
            f"{profile.max_num_seqs}: shorter ones share the rest)")
    return Preflight(True, f"fits: {figures}{note}", weights, per_sequence, usable, sequences)


def local_gpus() -> list[Gpu]:
    """The NVIDIA GPUs of this host (nvidia-smi); none when it is absent or fails."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total",
                              "--format=csv,noheader,nounits"], capture_output=True, text=True,
                             timeout=20, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.splitlines():
        name, _, mib = line.rpartition(",")
        if name and mib.strip().isdigit():
            gpus.append(Gpu(name.strip(), int(mib.strip()) * 1024**2))
    return gpus


def preflight(profile: ModelProfile) -> Preflight:
    """The check for this host: the GPU fit, or for a CPU profile the RAM it needs."""
    config = Path(profile.model_dir) / "config.json"
    if not config.is_file():
        return Preflight(False, f"{config} is missing: the model folder is not on this host "
                                "(or incomplete); copy it in, then check again")
    shape = ModelShape.from_config(json.loads(config.read_text(encoding="utf-8")))
    if profile.device == "cpu":  # vLLM's CPU build reserves a fixed KV space (launch.py)
        kv_space = float(os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1")) * GIB
        need = weight_bytes(shape, profile) + kv_space
        available = _available_ram()
        fits = available is None or need <= available
        return Preflight(fits, f"CPU profile, no GPU needed: {need / GIB:.1f} GiB of RAM for "
                               f"weights and KV ({_ram(available)} available)")
    gpus = local_gpus()
    if not gpus:
        return Preflight(False, f"no GPU on this host: the {profile.served_model_name} profile "
                                "needs NVIDIA GPUs (or serve it from a GPU host)")
    return check(profile, shape, gpus)


def _available_ram() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _ram(available: int | None) -> str:
    return "unknown" if available is None else f"{available / GIB:.1f} GiB"
