"""The egress guard in a fresh process (audit hooks cannot be removed once added)."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent("""
    import json, socket, sys
    from pathlib import Path
    from app.ops.egress import EgressBlocked, install_egress_guard, read_blocked

    log = Path(sys.argv[1])
    install_egress_guard({"gpu1.plant.local"}, log)
    server = socket.create_server(("127.0.0.1", 0))
    socket.create_connection(server.getsockname(), timeout=2).close()   # loopback: allowed
    results = {}
    for name, target in {"public": ("192.0.2.10", 80), "name": ("example.org", 443)}.items():
        try:
            socket.create_connection(target, timeout=2)
            results[name] = "connected"
        except EgressBlocked as exc:
            results[name] = "blocked"
        except OSError as exc:
            results[name] = f"oserror {exc}"
    try:
        socket.getaddrinfo("gpu1.plant.local", 8000)
        results["configured"] = "allowed"
    except EgressBlocked:
        results["configured"] = "blocked"
    except OSError:
        results["configured"] = "allowed"   # not resolvable here, but the guard let it through
    print(json.dumps(results))
""")


def test_guard_blocks_and_logs_non_loopback_and_allows_configured(tmp_path: Path) -> None:
    log = tmp_path / "blocked.jsonl"
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(log)], capture_output=True,
                         text=True, timeout=60, cwd=Path(__file__).parents[2])
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"public": "blocked", "name": "blocked",
                                      "configured": "allowed"}
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert {e["host"] for e in entries} == {"192.0.2.10", "example.org"}
    assert all("create_connection" in e["stack"] for e in entries)


def test_the_records_database_and_the_directory_are_let_through() -> None:
    """Before: only the model servers and Chroma were, so a plant's directory (ldap3 speaks
    through Python's sockets) was refused by the guard as soon as it was not on loopback."""
    from app.commands.startup import configured_endpoints
    from app.ops.egress import EgressGuard, allowed_hosts_from_urls
    from app.settings import Settings

    settings = Settings(
        directory={"url": "ldaps://dc1.plant.local"},
        database={"url": "postgresql+psycopg://plantops@db.plant.local:5432/plantops"},
        serving={"base_urls": ["http://gpu1.plant.local:8000/v1"]})
    guard = EgressGuard(allowed_hosts_from_urls(configured_endpoints(settings)), None)
    for host in ("dc1.plant.local", "db.plant.local", "gpu1.plant.local"):
        assert guard.permits(host), host
    assert not guard.permits("example.org")
