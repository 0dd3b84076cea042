"""What every command starts from: the data folder locked down, the egress guard installed
for the hosts the settings name, and the services built on demand. An entry point's concern
(like the offline switches), so it lives with the commands, not in the services."""

from __future__ import annotations

import os
from pathlib import Path

from app.ops.egress import allowed_hosts_from_urls, install_egress_guard
from app.services import Services, guard_log_path
from app.settings import Settings


def protect_data_dir(data_dir: Path) -> None:
    """The data folder holds the users' password hashes, the audit log and every document:
    readable by the service account only (0700; its databases 0600), also for folders made
    by an older version with the default 0755/0644."""
    os.umask(0o077)  # everything this process creates from here on
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    for database in data_dir.glob("*.sqlite3*"):
        database.chmod(0o600)


def open_services() -> Services:
    """What every command starts from: the settings (environment and config file), the
    egress guard installed for the hosts they name, and the services built on demand."""
    settings = Settings()
    protect_data_dir(settings.data_dir)
    install_egress_guard(allowed_hosts_from_urls(configured_endpoints(settings)),
                         guard_log_path(settings))
    return Services(settings)


def configured_endpoints(settings: Settings) -> list[str | None]:
    """Every address the settings tell the process to reach, and nothing else: the model
    servers (or their router), the Chroma server, the records database and the plant's
    directory. The egress guard refuses the rest."""
    return [*settings.serving.base_urls, settings.ingest.index.chroma_url,
            settings.database.url, settings.directory.url]
