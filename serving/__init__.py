"""Serving: the model server (vLLM) and the one client that talks to it.

Imports nothing from ``app`` or ``ingest``.
"""
