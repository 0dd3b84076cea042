"""Sign-in sessions in the records database: what one UI replica signs in, another knows;
idle sessions end wherever their next request lands; no usable token is stored."""

from pathlib import Path

from app.records.database import Database
from app.records.sessions import SharedSessions


def test_two_replicas_share_sessions_and_idle_ends_them(tmp_path: Path) -> None:
    now = [1000.0]
    database = Database.in_file(tmp_path / "records.sqlite3")
    first = SharedSessions(database, idle_s=60, clock=lambda: now[0])
    second = SharedSessions(Database.in_file(tmp_path / "records.sqlite3"), idle_s=60,
                            clock=lambda: now[0])
    first["tok-a"] = "anna"
    first["tok-b"] = "olaf"
    assert second.get("tok-a") == "anna" and "tok-b" in second and "tok-x" not in second
    now[0] += 50
    assert second.still_active("tok-a")  # a request on the other replica keeps it alive
    now[0] += 50
    assert first.still_active("tok-a") and not first.still_active("tok-b")  # olaf idled out
    assert "tok-b" not in second
    for key in list(second.keys()):  # Gradio's logout deletes the keys it iterates
        if second[key] == "anna":
            del second[key]
    assert "tok-a" not in first
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("records.sqlite3*"))
    assert b"tok-a" not in stored and b"tok-b" not in stored  # only their SHA-256
