"""`plantops doctor`: one report an admin can read, non-zero exit on a problem."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from app.ops.egress import read_blocked
from app.ops.offline import OFFLINE_ENV
from app.services import Services
from serving.settings import ModelProfile


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _offline_switches() -> Check:
    wrong = [k for k, v in OFFLINE_ENV.items() if os.environ.get(k) != v]
    return Check("offline switches", not wrong,
                 "all set" if not wrong else f"not set: {', '.join(wrong)}")


def _versions() -> Check:
    found = []
    for dist in ("plantops", "chromadb", "gradio", "langchain-core", "sentence-transformers",
                 "pypdf", "torch"):
        try:
            found.append(f"{dist} {version(dist)}")
        except PackageNotFoundError:
            found.append(f"{dist} missing")
    return Check("versions", not any("missing" in f for f in found), ", ".join(found))


def _gpu() -> Check:
    has_gpu = shutil.which("nvidia-smi") is not None or Path("/dev/nvidia0").exists()
    return Check("GPU", True, "present" if has_gpu else "none (CPU profile expected)")


def _ocr(services: Services) -> Check:
    """Scanned pages need Tesseract and each configured language model; say which is missing."""
    from ingest.ocr import engine_version, missing_languages, tessdata_dir

    settings = services.settings.ingest.ocr
    if not settings.enabled:
        return Check("OCR", True, "off (ingest.ocr.enabled): scanned pages are skipped")
    try:
        engine = f"Tesseract {engine_version()}"
    except ImportError as exc:
        return Check("OCR", False, f"Tesseract cannot be loaded ({exc}): reinstall tesserocr")
    folder = tessdata_dir(settings)
    if missing := missing_languages(settings):
        return Check("OCR", False, f"{engine}; no model for {', '.join(missing)} in {folder}: "
                     "install its tessdata package or copy <language>.traineddata there")
    return Check("OCR", True, f"{engine}, language {settings.language} from {folder}")


def _served_elsewhere(profile: ModelProfile) -> str | None:
    """Why a model check does not apply here: a GPU profile's folder is on the GPU host."""
    if not profile.model_dir.exists() and profile.device != "cpu":
        return f"{profile.model_dir} not on this host (served elsewhere)"
    return None


def _preflight(services: Services) -> Check:
    from serving.preflight import preflight

    profile = services.settings.serving.active_profile()
    if elsewhere := _served_elsewhere(profile):
        return Check("model fits", True, elsewhere)
    result = preflight(profile)
    return Check("model fits", result.fits, result.message)


def _model_folder(services: Services) -> Check:
    from serving.errors import ModelFolderError
    from serving.models import verify_checksums

    profile = services.settings.serving.active_profile()
    if elsewhere := _served_elsewhere(profile):
        return Check("model checksums", True, elsewhere)
    try:
        verify_checksums(profile.model_dir)
    except ModelFolderError as exc:
        return Check("model checksums", False, str(exc))
    return Check("model checksums", True, f"{profile.model_dir}: every file matches SHA256SUMS")


def _index(services: Services) -> Check:
    try:
        entries = services.manifest.entries()
        chunks = services.index.count()
    except Exception as exc:  # the report must show the problem, not crash on it
        return Check("index", False, f"{type(exc).__name__}: {exc}")
    pending = [e.file for e in entries if e.status != "done"]
    expected = sum(e.chunks for e in entries)
    ok = not pending and chunks == expected
    detail = f"{len(entries)} documents, {chunks} chunks, model {services.embedder.model_id}"
    if pending:
        detail += f"; unfinished: {', '.join(pending)} (run the ingest again)"
    if chunks != expected:
        detail += f"; manifest expects {expected} chunks (run the ingest again)"
    return Check("index", ok, detail)


def _model_server(services: Services) -> Check:
    from serving.errors import ModelServerUnavailable

    details, ok = [], True
    for url in services.settings.serving.base_urls:
        try:
            served = services.client.served_model(url)
            details.append(f"{url}: {served['id']} (max_model_len {served['max_model_len']})")
        except ModelServerUnavailable as exc:
            ok = False
            details.append(f"{url}: {exc}")
    return Check("model server", ok, "; ".join(details))


def _egress(log_path: Path) -> Check:
    blocked = read_blocked(log_path)
    if not blocked:
        return Check("egress guard", True, "no blocked attempts")
    last = blocked[-1]
    return Check("egress guard", False,
                 f"{len(blocked)} blocked attempt(s); last: {last['event']} to {last['host']!r}, "
                 f"from:\n{last['stack']}")


def _records(services: Services) -> Check:
    """The records database (users, sessions, audit, incidents): reachable, at this code's
    schema. A wrong URL, a server down or a bad password is named, never with the password."""
    from app.records.database import DatabaseError

    try:
        return Check("records database", True, services.database.check())
    except (DatabaseError, OSError) as exc:
        return Check("records database", False, str(exc))


def _directory(services: Services) -> Check:
    """The plant's directory: the service account binds, accounts are found, every group
    mapped to a role exists. Names what is wrong, never a password."""
    from app.records.directory import DirectoryUnavailable

    if services.settings.directory.url is None:
        return Check("directory", True, "not set: local accounts only")
    try:
        directory = services.directory
        assert directory is not None
        return Check("directory", True, directory.check())
    except (DirectoryUnavailable, ValueError) as exc:
        return Check("directory", False, str(exc))


def _disk(services: Services) -> Check:
    from ingest.errors import disk_full

    folder = services.settings.data_dir
    full = disk_full(folder)
    if full:
        return Check("data folder", False, full)
    return Check("data folder", True,
                 f"{folder}: {shutil.disk_usage(folder).free / 1e9:.1f} GB free")


def _guarded(name: str, check: Callable[[], Check], services: Services) -> Check:
    """A check that fails by raising (a full disk, a locked database) is reported, not a
    traceback."""
    from ingest.errors import disk_full

    try:
        return check()
    except Exception as exc:  # noqa: BLE001 (every failure is a line of the report)
        return Check(name, False, disk_full(services.settings.data_dir, exc)
                     or f"{type(exc).__name__}: {exc}")


def run_checks(services: Services, guard_log: Path) -> list[Check]:
    return [_offline_switches(), _versions(), _gpu(), _disk(services), _ocr(services),
            _model_folder(services), _preflight(services),
            _guarded("index", lambda: _index(services), services), _records(services),
            _directory(services), _model_server(services), _egress(guard_log)]
