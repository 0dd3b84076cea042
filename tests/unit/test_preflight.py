"""Preflight arithmetic against the published shapes of real models and figures worked out
by hand (in the comments)."""

import pytest

from serving.preflight import GIB, Gpu, ModelShape, check, kv_bytes_per_token, weight_bytes
from serving.settings import ModelProfile

# Dimensions as published in each model's config.json
LLAMA_31_8B = {"vocab_size": 128256, "hidden_size": 4096, "num_hidden_layers": 32,
               "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 14336,
               "tie_word_embeddings": False, "torch_dtype": "bfloat16"}
LLAMA_33_70B = {"vocab_size": 128256, "hidden_size": 8192, "num_hidden_layers": 80,
                "num_attention_heads": 64, "num_key_value_heads": 8, "intermediate_size": 28672,
                "tie_word_embeddings": False, "torch_dtype": "bfloat16"}
QWEN_25_7B = {"vocab_size": 152064, "hidden_size": 3584, "num_hidden_layers": 28,
              "num_attention_heads": 28, "num_key_value_heads": 4, "intermediate_size": 18944,
              "tie_word_embeddings": False, "torch_dtype": "bfloat16"}
SMOLLM2_135M = {"vocab_size": 49152, "hidden_size": 576, "num_hidden_layers": 30,
                "num_attention_heads": 9, "num_key_value_heads": 3, "head_dim": 64,
                "intermediate_size": 1536, "tie_word_embeddings": True, "dtype": "bfloat16"}
L4 = Gpu("NVIDIA L4", 23034 * 1024**2)  # what nvidia-smi reports, MiB
L40S = Gpu("NVIDIA L40S", 46068 * 1024**2)


@pytest.mark.parametrize(("config", "published"), [
    (LLAMA_31_8B, 8.03e9), (LLAMA_33_70B, 70.55e9), (QWEN_25_7B, 7.62e9),
    (SMOLLM2_135M, 134.5e6)])
def test_parameters_match_the_published_counts(config: dict, published: float) -> None:  # type: ignore[type-arg]
    assert ModelShape.from_config(config).parameters == pytest.approx(published, rel=0.02)


def test_an_8b_model_on_one_l4_fits_one_16k_sequence() -> None:
    profile = ModelProfile(model_dir="/m", served_model_name="x", max_model_len=16384,
                           max_num_seqs=64, dtype="bfloat16", gpu_memory_utilization=0.9)
    shape = ModelShape.from_config(LLAMA_31_8B)
    # by hand: 8.03e9 x 2 B = 14.96 GiB weights; KV 2 x 32 x 8 x 128 x 2 B = 128 KiB a token,
    # 2.0 GiB per 16k sequence; usable 22.49 GiB x 0.9 = 20.24; room 20.24 - 14.96 - 1.5 = 3.78
    assert weight_bytes(shape, profile) / GIB == pytest.approx(14.96, rel=0.02)
    assert kv_bytes_per_token(shape, profile) == 131072
    result = check(profile, shape, [L4])
    assert result.fits and result.full_sequences == 1
    assert result.usable_per_gpu / GIB == pytest.approx(20.24, rel=0.02)
    assert "1 full-length sequences at once" in result.message


def test_a_70b_awq_model_over_four_l40s_and_the_advice_when_it_does_not_fit() -> None:
    profile = ModelProfile(model_dir="/m", served_model_name="x", tensor_parallel_size=4,
                           quantization="awq", max_model_len=32768, max_num_seqs=64,
                           dtype="float16", gpu_memory_utilization=0.9)
    shape = ModelShape.from_config(LLAMA_33_70B)
    # by hand: embeddings 2 x 128256 x 8192 = 2.10e9 in 16 bit = 4.20e9 B; the other 68.45e9
    # parameters at 0.515 B = 35.25e9 B; 39.45e9 B = 36.7 GiB, 9.19 GiB per GPU. KV: 2 x 80 x 8
    # x 128 x 2 B = 320 KiB a token, 10 GiB per 32k sequence, 2.5 GiB per GPU. Usable 44.99 x
    # 0.9 = 40.49 GiB; room 40.49 - 9.19 - 1.5 = 29.8 GiB: 11 sequences
    result = check(profile, shape, [L40S] * 4)
    assert result.weights_per_gpu / GIB == pytest.approx(9.19, rel=0.02)
    assert result.kv_per_gpu / GIB == pytest.approx(2.5, rel=0.02)
    assert result.fits and result.full_sequences == 11
    assert not check(profile, shape, [L40S] * 2).fits  # fewer GPUs than the profile's TP
    unquantised = profile.model_copy(update={"quantization": None, "tensor_parallel_size": 1})
    # 141 GB of 16-bit weights on one 48 GB card: no max_model_len saves it
    advice = check(unquantised, shape, [L40S]).message
    assert advice.startswith("does not fit") and "tensor_parallel_size" in advice


def test_a_qwen_7b_with_too_long_a_context_is_told_the_length_that_fits() -> None:
    profile = ModelProfile(model_dir="/m", served_model_name="x", max_model_len=131072,
                           dtype="bfloat16", gpu_memory_utilization=0.9)
    shape = ModelShape.from_config(QWEN_25_7B)
    # by hand: 7.62e9 x 2 B = 14.19 GiB; KV 2 x 28 x 4 x 128 x 2 B = 56 KiB a token; room on an
    # L4 20.24 - 14.19 - 1.5 = 4.55 GiB = 85,000 tokens: 128k does not fit, 84,992 does
    result = check(profile, shape, [L4])
    assert not result.fits
    shorter = int(result.message.rsplit("max_model_len to ", 1)[1])
    assert shorter == pytest.approx(85_000, rel=0.02) and shorter % 256 == 0


def test_the_cpu_model_needs_half_a_gib_of_weights_in_float32() -> None:
    profile = ModelProfile(model_dir="/m", served_model_name="x", dtype="float32", device="cpu")
    # by hand: 134.5e6 x 4 B = 0.50 GiB
    shape = ModelShape.from_config(SMOLLM2_135M)
    assert weight_bytes(shape, profile) / GIB == pytest.approx(0.50, rel=0.02)
