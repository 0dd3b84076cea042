"""Offline switches, set in code at each process's entry point.

The plant network has no route out; these make the libraries we use behave
accordingly instead of trying (and stalling on) hub look-ups and telemetry.
Chroma's telemetry is switched off where its client is made (ingest.index).
"""

from __future__ import annotations

import os

OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",  # chromadb's env name for the same switch
    "DO_NOT_TRACK": "1",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_TRACING": "false",
    "TOKENIZERS_PARALLELISM": "false",
}


def enforce_offline() -> None:
    """Force the offline switches (overriding the environment: this is not optional)."""
    os.environ.update(OFFLINE_ENV)
