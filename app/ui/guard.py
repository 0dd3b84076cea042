"""What Gradio's own routes do not check: who may fetch which file, how often a sign-in may
be tried, how long an idle session lives, and who may upload.

One ASGI middleware in front of the Gradio app (``Guard``), built from plain parts that are
tested on their own: ``FileGrants`` (files a handler hands to one user, fetched through
``/plantops/file/<token>`` after the role is checked again), ``SignInThrottle`` and
``IdleSessions``. Nothing role-restricted is ever put under Gradio's ``allowed_paths``,
which serves a file to anyone signed in who knows its path.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from app.ui.access import Access
from app.users import Permission, User

FILE_ROUTE = "/plantops/file/"
Clock = Callable[[], float]
Scope = dict[str, Any]


@dataclass(frozen=True)
class Grant:
    user: str
    permission: Permission
    path: Path
    download_name: str
    expires_at: float
    one_time: bool  # fetched once, then the grant and the file are gone (exports)


class FileGrants:
    """Unguessable, per-user, expiring links to files a handler decided a user may have."""

    def __init__(self, ttl_s: float = 600.0, clock: Clock = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._grants: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def grant(self, user: User, permission: Permission, path: Path, download_name: str,
              one_time: bool = False) -> str:
        """The URL (a path on this server) through which ``user`` alone fetches ``path``."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._forget_expired()
            self._grants[token] = Grant(user.name, permission, path, download_name,
                                        self._clock() + self._ttl_s, one_time)
        return FILE_ROUTE + token

    def claim(self, token: str, user: User) -> Grant | None:
        """The live grant of ``token`` if it is ``user``'s, removed when it is for one fetch;
        None when there is none. Raises PermissionError when it is another user's (and
        leaves it for them)."""
        with self._lock:
            self._forget_expired()
            grant = self._grants.get(token)
            if grant is None:
                return None
            if grant.user != user.name or not user.may(grant.permission):
                raise PermissionError(token)
            if grant.one_time:
                del self._grants[token]
            return grant

    def _forget_expired(self) -> None:
        now = self._clock()
        for token in [t for t, g in self._grants.items() if g.expires_at < now]:
            grant = self._grants.pop(token)
            if grant.one_time:
                grant.path.unlink(missing_ok=True)


class SignInThrottle:
    """Failed sign-ins counted per user name and per client address: past ``free`` failures
    each further attempt must wait ``base_s`` x 2^(extra failures), up to ``cap_s``, after the
    last failure. An address gets more free tries than a name: a shared control-room console
    is one address for a whole shift."""

    def __init__(self, free_per_name: int = 5, free_per_address: int = 20,
                 base_s: float = 1.0, cap_s: float = 900.0,
                 clock: Clock = time.monotonic) -> None:
        self._free = {"name": free_per_name, "address": free_per_address}
        self._base_s, self._cap_s, self._clock = base_s, cap_s, clock
        self._failures: dict[tuple[str, str], tuple[int, float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, name: str, address: str) -> float:
        """Seconds before the next attempt for this name from this address is heard."""
        now = self._clock()
        with self._lock:
            return max(self._wait(("name", name), now), self._wait(("address", address), now))

    def failed(self, name: str, address: str) -> None:
        now = self._clock()
        with self._lock:
            if len(self._failures) > 100_000:  # bounded memory under a spray of names
                self._failures.clear()
            for key in (("name", name), ("address", address)):
                count, last = self._failures.get(key, (0, now))
                if now - last > self._cap_s:  # quiet for the longest wait: forgiven
                    count = 0
                self._failures[key] = (count + 1, now)

    def succeeded(self, name: str, address: str) -> None:
        """The name's count is cleared; the address's is not, or one valid account would
        clear the way for guessing the others from the same address."""
        with self._lock:
            self._failures.pop(("name", name), None)

    def _wait(self, key: tuple[str, str], now: float) -> float:
        count, last = self._failures.get(key, (0, now))
        extra = count - self._free[key[0]]
        if extra < 0 or now - last > self._cap_s:
            return 0.0
        return max(0.0, last + min(self._cap_s, self._base_s * 2 ** extra) - now)


class IdleSessions:
    """A signed-in session that made no request for ``idle_s`` seconds is over."""

    def __init__(self, idle_s: float, clock: Clock = time.monotonic) -> None:
        self._idle_s, self._clock = idle_s, clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def still_active(self, token: str) -> bool:
        """Records this request; False (and forgets the session) when it had been idle."""
        now = self._clock()
        with self._lock:
            last = self._seen.get(token, now)
            if self._idle_s > 0 and now - last > self._idle_s:
                del self._seen[token]
                return False
            self._seen[token] = now
            return True


class Guard:
    """ASGI middleware around the Gradio app; see the module docstring."""

    def __init__(self, app: Any, *, access: Access, grants: FileGrants,
                 throttle: SignInThrottle, sessions: IdleSessions, secure: bool) -> None:
        self.app = app
        self._access, self._grants = access, grants
        self._throttle, self._sessions, self._secure = throttle, sessions, secure

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path, method = scope["path"].rstrip("/"), scope["method"]
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
        return await self.app(scope, receive, self._cookie_filter(send))

    def _user(self, request: Request, gradio_app: Any) -> User | None:
        """The signed-in user of this request (the local admin in single-user mode); an idle
        session's token is withdrawn from Gradio too, so every route sees it signed out."""
        if self._access.single_user:
            return self._access.user(None)
        for cookie, token in request.cookies.items():
            if cookie.startswith("access-token") and token in gradio_app.tokens:
                if not self._sessions.still_active(token):
                    gradio_app.tokens.pop(token, None)
                    return None
                return self._access.user_named(gradio_app.tokens[token])
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
                cleanup = (BackgroundTask(grant.path.unlink, missing_ok=True)
                           if grant.one_time else None)
                response = FileResponse(grant.path, filename=grant.download_name,
                                        background=cleanup,
                                        headers={"Cache-Control": "no-store"})
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
        form = parse_qs(body.decode("utf-8", "replace"))
        name = self._access.normalise(form.get("username", [""])[0])
        address = (scope.get("client") or ("?", 0))[0]
        wait = self._throttle.wait_s(name, address)
        if wait > 0:
            refusal = JSONResponse(
                {"detail": f"Too many failed sign-ins: try again in {math.ceil(wait)} s."},
                status_code=429, headers={"Retry-After": str(math.ceil(wait))})
            return await refusal(scope, receive, send)
        status: list[int] = []

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def observe(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await self._cookie_filter(send)(message)

        await self.app(scope, replay, observe)
        if status and status[0] == 200:
            self._throttle.succeeded(name, address)
        else:
            self._throttle.failed(name, address)

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
