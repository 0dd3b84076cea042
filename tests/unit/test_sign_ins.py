"""Failed sign-ins in the records database: one count for every replica."""

from __future__ import annotations

from pathlib import Path

from app.records.database import Database
from app.records.sign_ins import SharedFailures
from app.ui.guard import SignInThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_two_replicas_share_one_count(tmp_path: Path) -> None:
    """Before, each replica counted its own failures: behind a balancer with two replicas a
    guesser had 10 free tries at a name, not 5."""
    db = Database.in_file(tmp_path / "records.sqlite3")
    db.upgrade()
    clock = Clock()
    replicas = [SignInThrottle(SharedFailures(db), free_per_name=5, clock=clock)
                for _ in range(2)]
    for attempt in range(5):
        assert replicas[attempt % 2].wait_s("anna", f"10.0.0.{attempt}") == 0
        replicas[attempt % 2].failed("anna", f"10.0.0.{attempt}")
    assert replicas[0].wait_s("anna", "10.0.0.9") == 1.0  # the sixth waits, on either
    assert replicas[1].wait_s("anna", "10.0.0.9") == 1.0
    clock.now += 1.0
    replicas[1].failed("anna", "10.0.0.9")
    assert replicas[0].wait_s("anna", "10.0.0.9") == 2.0  # doubling, whoever counted
    replicas[0].succeeded("anna", "10.0.0.9")
    assert replicas[1].wait_s("anna", "10.0.0.9") == 0


def test_a_quiet_count_is_forgiven_and_old_counts_are_pruned(tmp_path: Path) -> None:
    db = Database.in_file(tmp_path / "records.sqlite3")
    db.upgrade()
    clock = Clock()
    failures = SharedFailures(db)
    throttle = SignInThrottle(failures, free_per_name=1, cap_s=900, clock=clock)
    throttle.failed("bob", "10.0.0.1")
    throttle.failed("bob", "10.0.0.1")
    assert throttle.wait_s("bob", "10.0.0.1") > 0
    clock.now += 901
    assert throttle.wait_s("bob", "10.0.0.1") == 0
    throttle.failed("bob", "10.0.0.1")
    assert failures.get("name:bob") == (1, clock.now)  # counted from one again
    for n in range(128):  # 256 adds: the counts quiet for 15 minutes are deleted
        throttle.failed(f"spray-{n}", "10.0.0.2")
    clock.now += 901
    throttle.failed("carol", "10.0.0.3")
    for n in range(127):
        throttle.failed(f"spray2-{n}", "10.0.0.3")
    assert failures.get("name:spray-0") is None and failures.get("name:bob") is None
