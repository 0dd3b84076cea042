"""The vLLM release the tests run, pinned in one place.

CI and `make run` serve through the CPU build of exactly this release; the compose stack's
image, the vLLM lock of the offline bundle and the docs name the same one
(tests/unit/test_versions.py fails when any of them drifts), so a plant runs the server
surface — OpenAI-compatible routes, /tokenize, /health, flags — that was tested.
"""

VLLM_VERSION = "0.32.0"
VLLM_IMAGE = f"vllm/vllm-openai:v{VLLM_VERSION}"
