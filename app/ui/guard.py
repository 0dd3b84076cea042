"""What Gradio's own routes do not check: who may fetch which file, how often a sign-in may
be tried, how long an idle session lives, and who may upload.

One ASGI middleware in front of the Gradio app (``Guard``), built from plain parts that are
tested on their own: ``FileGrants`` (files a handler hands to one user, fetched through
``/plantops/file/<token>`` after the role is checked again), ``SignInThrottle`` and
``SharedSessions`` (the sessions table: every replica knows every session, idle ones end).
Nothing role-restricted is ever put under Gradio's ``allowed_paths``,
which serves a file to anyone signed in who knows its path.
"""

from __future__ import annotations

import math
import mimetypes
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse

from app.records.audit import AuditEntry, AuditLog
from app.records.database import UNREACHABLE
from app.records.sessions import SharedSessions
from app.records.sign_ins import SharedFailures
from app.records.users import Permission, User
from app.ui.access import Access, SignIn
from app.ui.grants import FILE_ROUTE, FileGrants

Clock = Callable[[], float]
HEALTH_ROUTE = "/healthz"
UNREACHABLE_TEXT = ("PlantOps cannot reach its records database (sign-ins, incidents, the audit "
                    "log), so it cannot serve this page now. Try again in a minute; if it "
                    "goes on, tell IT: `plantops doctor` names the cause.")
Scope = dict[str, Any]
_REFUSED = {503: "directory unreachable", 403: "in no PlantOps group"}
_GRADIO_FILES = "/gradio_api/file="


def _sent_once(path: Path, download_name: str) -> Response:
    """A one-use file (an export): opened, then deleted before its first byte is sent, and
    streamed from the open file. Deleting it after the response left it on disk for a moment
    after the client had it all (a client on a busy machine saw it still there)."""
    handle = path.open("rb")
    path.unlink(missing_ok=True)
    ascii_name = download_name.encode("ascii", "replace").decode().replace('"', "")
    disposition = f'attachment; filename="{ascii_name}"; filename*=UTF-8\'\'{quote(download_name)}'
    media = mimetypes.guess_type(download_name)[0] or "application/octet-stream"
    return StreamingResponse(iter(lambda: handle.read(65_536), b""), media_type=media,
                             headers={"Content-Disposition": disposition,
                                      "Cache-Control": "no-store"},
                             background=BackgroundTask(handle.close))


class SignInThrottle:
    """Failed sign-ins counted per user name and per client address: past ``free`` failures
    each further attempt must wait ``base_s`` x 2^(extra failures), up to ``cap_s``, after the
    last failure. An address gets more free tries than a name: a shared control-room console
    is one address for a whole shift. The counts are in the records database
    (``SharedFailures``): every replica sees every failure, and the wall clock is the one
    they share."""

    def __init__(self, failures: SharedFailures, free_per_name: int = 5,
                 free_per_address: int = 20, base_s: float = 1.0, cap_s: float = 900.0,
                 clock: Clock = time.time) -> None:
        self._free = {"name": free_per_name, "address": free_per_address}
        self._base_s, self._cap_s, self._clock = base_s, cap_s, clock
        self._failures = failures

    def wait_s(self, name: str, address: str) -> float:
        """Seconds before the next attempt for this name from this address is heard."""
        now = self._clock()
        return max(self._wait("name", name, now), self._wait("address", address, now))

    def failed(self, name: str, address: str) -> None:
        now = self._clock()
        for kind, value in (("name", name), ("address", address)):
            # quiet for the longest wait: forgiven, counted from one again
            self._failures.add(f"{kind}:{value}", now, forget_after_s=self._cap_s)

    def succeeded(self, name: str, address: str) -> None:
        """The name's count is cleared; the address's is not, or one valid account would
        clear the way for guessing the others from the same address."""
        self._failures.clear(f"name:{name}")

    def _wait(self, kind: str, value: str, now: float) -> float:
        count, last = self._failures.get(f"{kind}:{value}") or (0, now)
        extra = count - self._free[kind]
        if extra < 0 or now - last > self._cap_s:
            return 0.0
        return max(0.0, last + min(self._cap_s, self._base_s * 2 ** extra) - now)


class Guard:
    """ASGI middleware around the Gradio app; see the module docstring."""

    def __init__(self, app: Any, *, access: Access, grants: FileGrants,
                 throttle: SignInThrottle, sessions: SharedSessions, audit: AuditLog,
                 secure: bool, cookie_id: str, health: Callable[[], str],
                 sign_in_script: str = "",
                 owners: Callable[[str], set[str]] = lambda _: set()) -> None:
        self.app = app
        self._audit = audit
        self._page_script = sign_in_script.encode("utf-8")
        self._access, self._grants = access, grants
        self._throttle, self._sessions, self._secure = throttle, sessions, secure
        self._cookie_id = cookie_id
        self._health = health
        self._owners = owners  # file version (sha256) -> the documents it is a version of

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope["path"].rstrip("/")
        self._share_sessions(scope["app"])
        if path == HEALTH_ROUTE:
            return await self._health_check(scope, receive, send)
        started = False

        async def sending(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            return await self._guarded(path, scope, receive, sending)
        except UNREACHABLE:
            if started:  # mid-response: nothing else can be sent
                raise
            # Sign-ins and sessions live in the records database: without it no request can
            # be told apart, so each is refused plainly instead of with a traceback page.
            refusal = JSONResponse({"detail": UNREACHABLE_TEXT}, status_code=503,
                                   headers={"Retry-After": "30"})
            return await refusal(scope, receive, send)

    async def _guarded(self, path: str, scope: Scope, receive: Any, send: Any) -> None:
        method = scope["method"]
        request = Request(scope)
        user = self._user(request, scope["app"])
        if path.startswith(FILE_ROUTE.rstrip("/")):
            return await self._serve_file(path, user, scope, receive, send)
        if path == "/login" and method == "POST":
            return await self._login(scope, receive, send)
        if path == "/gradio_api/upload" and method == "POST" and not (
                user and user.may(Permission.ADMIN)):
            refusal = JSONResponse({"detail": "Uploads are for admins only."}, status_code=403)
            return await refusal(scope, receive, send)
        if path.startswith(_GRADIO_FILES) and user is not None and not self._may_see_page(
                path, user):
            refusal = JSONResponse({"detail": "This page belongs to a document in a "
                                    "collection you may not read."}, status_code=403)
            return await refusal(scope, receive, send)
        if path == "" and method == "GET" and user is None and self._page_script:
            send = _with_script(send, self._page_script)  # the sign-in page
        return await self.app(scope, receive, self._cookie_filter(send))

    def _may_see_page(self, path: str, user: User) -> bool:
        """A page image (``previews/<version>-<page>….png``, Gradio's file route) is a page of
        one document: refused to a user whose collections do not include it — a link kept
        from before a right was withdrawn, or passed on by someone else. An image whose
        document is not known (an old version) is refused to anyone with forbidden files."""
        hidden = self._access.hidden_files(user)
        if not hidden or "previews/" not in path:
            return True
        owners = self._owners(path.rsplit("/", 1)[-1].split("-", 1)[0])
        return bool(owners) and not owners & hidden

    async def _health_check(self, scope: Scope, receive: Any, send: Any) -> None:
        """For the load balancer and Kubernetes' probes, no sign-in: 200 while this replica can
        serve (its records database answers), 503 with the reason otherwise."""
        try:
            detail = await run_in_threadpool(self._health)
        except Exception as exc:  # noqa: BLE001 (any failure means: send no user here)
            response = JSONResponse({"status": "unavailable", "detail": str(exc)},
                                    status_code=503)
        else:
            response = JSONResponse({"status": "ok", "detail": detail})
        await response(scope, receive, send)

    def _share_sessions(self, gradio_app: Any) -> None:
        """Gradio keeps sessions in a dict of its process under a cookie name of its own
        (random per process): both become the replicas' shared ones before any request."""
        if gradio_app.tokens is not self._sessions:
            gradio_app.tokens = self._sessions
            gradio_app.cookie_id = self._cookie_id

    def _user(self, request: Request, gradio_app: Any) -> User | None:
        """The signed-in user of this request (the local admin in single-user mode); an idle
        session's token is withdrawn from Gradio too, so every route sees it signed out."""
        if self._access.single_user:
            return self._access.user(None)
        for cookie, token in request.cookies.items():
            if cookie.startswith("access-token") and token in gradio_app.tokens:
                user = (self._access.user_named(gradio_app.tokens[token])
                        if self._sessions.still_active(token) else None)
                if user is None:  # idle, removed, or disabled in the directory: signed out
                    gradio_app.tokens.pop(token, None)
                return user
        return None

    async def _serve_file(self, path: str, user: User | None, scope: Scope, receive: Any,
                          send: Any) -> None:
        response: Response
        try:
            grant = self._grants.claim(path.rsplit("/", 1)[-1], user) if user else None
        except PermissionError:
            response = JSONResponse({"detail": "This file was given to another user."},
                                    status_code=403)
        else:
            if user is None:
                response = JSONResponse({"detail": "Sign in first."}, status_code=401)
            elif grant is None or not grant.path.is_file():
                response = JSONResponse({"detail": "This link has expired or was already "
                                         "used: ask for the file again."}, status_code=404)
            else:
                response = (_sent_once(grant.path, grant.download_name) if grant.one_time
                            else FileResponse(grant.path, filename=grant.download_name,
                                              headers={"Cache-Control": "no-store"}))
        await response(scope, receive, send)

    async def _login(self, scope: Scope, receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if len(body) > 65_536:
                return await Response(status_code=413)(scope, receive, send)
            if not message.get("more_body"):
                break
        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        # Gradio's sign-in page posts multipart/form-data, scripts post urlencoded forms:
        # read as Gradio reads it, or every browser sign-in counts against the name "".
        form = await Request(scope, replay).form()
        typed = form.get("username")
        name = self._access.normalise(typed if isinstance(typed, str) else "")
        address = (scope.get("client") or ("?", 0))[0]
        wait = self._throttle.wait_s(name, address)
        if wait > 0:
            await run_in_threadpool(self._audit_sign_in, name, address, "locked out", None)
            refusal = JSONResponse(
                {"detail": f"Too many failed sign-ins: try again in {math.ceil(wait)} s."},
                status_code=429, headers={"Retry-After": str(math.ceil(wait))})
            return await refusal(scope, receive, send)
        answer: list[dict[str, Any]] = []  # Gradio's response: small, kept until judged

        async def observe(message: dict[str, Any]) -> None:
            answer.append(message)

        await self.app(scope, replay, observe)
        status = next((m["status"] for m in answer if m["type"] == "http.response.start"), 500)
        outcome = self._access.outcome(name)
        said = ("signed in" if status == 200 else
                _REFUSED.get(outcome.refusal[0], "refused") if outcome and outcome.refusal
                else "wrong name or password")
        await run_in_threadpool(self._audit_sign_in, name, address, said, outcome)
        if status != 200 and outcome and outcome.refusal:
            # not a wrong password: the directory is down, or no group gives a role
            code, detail = outcome.refusal
            return await JSONResponse({"detail": detail}, status_code=code)(scope, receive, send)
        if status == 200:
            self._throttle.succeeded(name, address)
        else:
            self._throttle.failed(name, address)
        for message in answer:
            await self._cookie_filter(send)(message)

    def _audit_sign_in(self, name: str, address: str, status: str,
                       outcome: SignIn | None) -> None:
        """Every sign-in in the audit log: who (as typed, normalised), from where, local or
        directory account, and how it went. Never the password."""
        user = outcome.user if outcome else None
        self._audit.record(AuditEntry(
            user=name[:64], role=user.role.value if user else "", action="sign-in",
            status=status, address=address[:64], account=outcome.account if outcome else None))

    def _cookie_filter(self, send: Any) -> Any:
        """Served over TLS, the session cookie goes only with the Secure flag: Gradio's
        second, non-Secure copy (for plain HTTP) is dropped."""
        if not self._secure:
            return send

        async def filtered(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [
                    (k, v) for k, v in message.get("headers", [])
                    if not (k.lower() == b"set-cookie" and v.startswith(b"access-token-unsecure"))]}
            await send(message)

        return filtered


def _with_script(send: Any, script: bytes) -> Any:
    """``send`` with ``script`` put before the page's </head>. Gradio's sign-in page runs none
    of the app's scripts (its config, head included, is withheld until sign-in), so the guard
    adds the one it needs to the HTML as it goes out."""
    start: dict[str, Any] = {}
    body = b""

    async def sending(message: dict[str, Any]) -> None:
        nonlocal body
        if message["type"] == "http.response.start":
            start.update(message)
            return
        if message["type"] != "http.response.body":
            return await send(message)
        body += message.get("body", b"")
        if message.get("more_body"):
            return
        headers = dict(start.get("headers", []))
        if headers.get(b"content-type", b"").startswith(b"text/html"):
            body = body.replace(b"</head>", script + b"</head>", 1)
        await send({**start, "headers": [
            (k, str(len(body)).encode() if k.lower() == b"content-length" else v)
            for k, v in start.get("headers", [])]})
        await send({"type": "http.response.body", "body": body})

    return sending
