"""/healthz keeps the balancer and Kubernetes off a replica until its first question would
not wait for the embedding model and the index (the failover test measured 59 s)."""

from __future__ import annotations

import threading

import pytest

from app.records.database import DatabaseError
from app.ui.app import WARMING_UP, readiness


def test_not_ready_while_warming_up_then_ready_with_the_databases_detail() -> None:
    warmed = threading.Event()
    ready = readiness(lambda: "sqlite (schema 0003)", warmed)
    with pytest.raises(RuntimeError, match="warming up"):
        ready()
    warmed.set()
    assert ready() == "sqlite (schema 0003)"
    assert "embedding model" in WARMING_UP


def test_a_database_outage_is_said_before_the_warm_up() -> None:
    def down() -> str:
        raise DatabaseError("the database db:5432/plantops is unreachable: refused")

    with pytest.raises(DatabaseError, match="unreachable"):
        readiness(down, threading.Event())()
    with pytest.raises(DatabaseError, match="unreachable"):
        readiness(down, None)()
