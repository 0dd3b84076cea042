"""Ingest: files -> chunks with metadata -> embeddings -> Chroma.

This package owns what is in the index and publishes the index contract
(:mod:`ingest.contract`). It imports nothing from ``app`` or ``serving``.
"""
