"""A real PostgreSQL server for the tests, from Debian's package, in a folder of the test's
own on a free loopback port, with a password (read from a file, as the app reads it)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ON_CI, free_port


@dataclass(frozen=True)
class Postgres:
    port: int
    password_file: Path
    data: Path

    def url(self, database: str = "plantops") -> str:
        """The URL as a plant writes it: no password (that comes from the file)."""
        return f"postgresql+psycopg://plantops@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        subprocess.run(["runuser", "-u", "postgres", "--", _binary("createdb"), "-h",
                        "127.0.0.1", "-p", str(self.port), "-O", "plantops", name],
                       check=True, capture_output=True,
                       env={**os.environ, "PGPASSWORD": self.password_file.read_text()})
        return self.url(name)


    def sql(self, statement: str) -> None:
        """One statement as the superuser (to cause a fault: refuse connections, end them)."""
        subprocess.run(["runuser", "-u", "postgres", "--", _binary("psql"), "-h", "127.0.0.1",
                        "-p", str(self.port), "-U", "postgres", "-d", "postgres",
                        "-v", "ON_ERROR_STOP=1", "-c", statement],
                       check=True, capture_output=True,
                       env={**os.environ, "PGPASSWORD": self.password_file.read_text()})


def _binary(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        message = "PostgreSQL is not installed (Debian package postgresql; `make test` installs it)"
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found[-1]


def start_postgres(folder: Path) -> Iterator[Postgres]:
    """initdb, start on a free port, create the plantops role and database; stop at the end.
    Runs as the postgres account: the server refuses to run as root."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o755)
    data, password_file = folder / "pgdata", folder / "password"
    password_file.write_text("pl4nt-db-secret")
    password_file.chmod(0o644)  # the postgres account reads it once, for initdb
    shutil.chown(folder, "postgres")
    port = free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_postgres, initdb, "-D", str(data), "-U", "postgres", "--auth-local=trust",
                    "--auth-host=scram-sha-256", f"--pwfile={password_file}", "-E", "UTF8"],
                   check=True, capture_output=True)
    subprocess.run([*as_postgres, pg_ctl, "-D", str(data), "-w", "-t", "60", "-l",
                    str(folder / "server.log"), "-o",
                    f"-p {port} -k {folder} -c listen_addresses=127.0.0.1", "start"],
                   check=True, capture_output=True)
    env = {**os.environ, "PGPASSWORD": password_file.read_text()}
    psql = [*as_postgres, _binary("psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres",
            "-v", "ON_ERROR_STOP=1", "-c"]
    subprocess.run([*psql, "CREATE ROLE plantops LOGIN PASSWORD 'pl4nt-db-secret'"],
                   check=True, capture_output=True, env=env)
    subprocess.run([*psql, "CREATE DATABASE plantops OWNER plantops"], check=True,
                   capture_output=True, env=env)
    password_file.chmod(0o600)
    try:
        yield Postgres(port, password_file, data)
    finally:
        subprocess.run([*as_postgres, pg_ctl, "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        time.sleep(0.2)
