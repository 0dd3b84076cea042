"""The answer path: a question → passages (retrieval) → how strong they are (evidence) →
quotes, model text and its checks (answering, verification, safety) → what is shown
(rendering, preview). Work-order history questions are answered in ``history``.

Reads the index only through ``ingest.search``; imports nothing of records, ops, ui or
commands (import-linter contracts in pyproject.toml)."""
