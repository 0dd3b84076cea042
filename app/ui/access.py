"""Who is asking, and may they: resolved on the server for every request."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import gradio as gr

from app.records.collections import Collections
from app.records.directory import Directory, DirectoryUnavailable, NotInAGroup
from app.records.users import LOCAL_USER, Permission, User, UserStore
from app.ui.grants import FileGrants

_log = logging.getLogger(__name__)

DIRECTORY_DOWN = ("The plant directory does not answer, so directory accounts cannot sign in "
                  "now. Local accounts still can. Tell IT: `plantops doctor` names the cause.")
NOT_IN_A_GROUP = ("Your directory account is right, but it is in none of the groups that "
                  "may use PlantOps: ask IT to add you to one.")


@dataclass(frozen=True)
class SignIn:
    account: str | None  # local | directory | None (no such account)
    user: User | None = None  # signed in as
    refusal: tuple[int, str] | None = None  # (HTTP status, what the page says) if not a
    # wrong password


class Access:
    """Single-user mode (no login, everyone is the local admin) or login against the
    local accounts and then the plant's directory; in both, each handler asks `require`
    before doing anything."""

    def __init__(self, users: UserStore, single_user: bool,
                 directory: Directory | None = None,
                 collections: Collections | None = None) -> None:
        self.users = users
        self.single_user = single_user
        self.directory = directory
        self.collections = collections
        self.grants = FileGrants()  # files handed to one user, fetched after a role check
        # How each sign-in went, by name: Gradio's login hears only True/False; the guard
        # picks this up, audits it and, for a failure that is not a wrong password (the
        # directory is down, the account is in no group), tells the page why.
        self._outcomes: dict[str, SignIn] = {}
        self._lock = threading.Lock()

    @staticmethod
    def normalise(name: str) -> str:
        """User names are stored lower-case: "OPER1" signs in as, and stays, oper1."""
        return name.strip().lower()

    def login(self, name: str, password: str) -> bool:
        """Gradio's login check: a local account first (the break-glass admin signs in
        whatever the directory's state), then the directory for names it does not hold.
        How it went is kept for the guard (``outcome``), which audits it."""
        name = self.normalise(name)
        user = self.users.verify(name, password)
        if user is not None:
            return self._said(name, SignIn("local", user))
        if self.directory is None or self.users.get(name) is not None:
            return self._said(name, SignIn("local" if self.directory is None else None))
        try:
            user = self.directory.authenticate(name, password)
        except DirectoryUnavailable as exc:
            # The cause (address, TLS, service account) is for IT's log, not for anyone who
            # can open the sign-in page.
            _log.warning("directory sign-in of %r failed: %s", name, exc)
            return self._said(name, SignIn("directory", refusal=(503, DIRECTORY_DOWN)))
        except NotInAGroup:
            return self._said(name, SignIn("directory", refusal=(403, NOT_IN_A_GROUP)))
        return self._said(name, SignIn("directory" if user else None, user))

    def outcome(self, name: str) -> SignIn | None:
        """How ``name``'s last sign-in went, taken once (by the guard, after Gradio's
        login route answered)."""
        with self._lock:
            return self._outcomes.pop(self.normalise(name), None)

    def _said(self, name: str, outcome: SignIn) -> bool:
        with self._lock:
            self._outcomes[name] = outcome
        return outcome.user is not None

    def user_named(self, name: str | None) -> User | None:
        """The user behind a signed-in session's name (the name as typed at sign-in): a
        local account, else the directory's answer (looked up again every
        directory.revalidate_s); removed, disabled or out of every group: no access."""
        if self.single_user:
            return LOCAL_USER
        if not name:
            return None
        name = self.normalise(name)
        user = self.users.get(name)
        if user is None and self.directory is not None:
            return self.directory.current(name)
        return user

    def user(self, request: gr.Request | None) -> User | None:
        return self.user_named(getattr(request, "username", None))

    def hidden_files(self, user: User) -> frozenset[str]:
        """The files ``user`` may not read (their collections are not the user's): read
        anew at each request, so that an admin's change applies at the next one."""
        return self.collections.hidden_from(user) if self.collections else frozenset()

    def require(self, request: gr.Request | None, permission: Permission) -> User:
        user = self.user(request)
        if user is None:
            raise gr.Error("You are not signed in (or your account was removed). "
                           "Reload the page and sign in.")
        if not user.may(permission):
            raise gr.Error(f"Not allowed: the {user.role} role cannot use '{permission}'. "
                           "Ask an admin if you need it.")
        return user
