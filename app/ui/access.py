"""Who is asking, and may they: resolved on the server for every request."""

from __future__ import annotations

import threading

import gradio as gr

from app.records.directory import Directory, DirectoryUnavailable, NotInAGroup
from app.records.users import LOCAL_USER, Permission, User, UserStore
from app.ui.grants import FileGrants

NOT_IN_A_GROUP = ("Your directory account is right, but it is in none of the groups that "
                  "may use PlantOps: ask IT to add you to one.")


class Access:
    """Single-user mode (no login, everyone is the local admin) or login against the
    local accounts and then the plant's directory; in both, each handler asks `require`
    before doing anything."""

    def __init__(self, users: UserStore, single_user: bool,
                 directory: Directory | None = None) -> None:
        self.users = users
        self.single_user = single_user
        self.directory = directory
        self.grants = FileGrants()  # files handed to one user, fetched after a role check
        # Why a sign-in that is not a wrong password failed (the directory is down, the
        # account is in no group), by name: Gradio's login hears only True/False, the guard
        # picks the reason up and tells the page.
        self._refusals: dict[str, tuple[int, str]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def normalise(name: str) -> str:
        """User names are stored lower-case: "OPER1" signs in as, and stays, oper1."""
        return name.strip().lower()

    def login(self, name: str, password: str) -> bool:
        """Gradio's login check: a local account first (the break-glass admin signs in
        whatever the directory's state), then the directory for names it does not hold."""
        name = self.normalise(name)
        if self.users.verify(name, password) is not None:
            return True
        if self.directory is None or self.users.get(name) is not None:
            return False
        try:
            return self.directory.authenticate(name, password) is not None
        except DirectoryUnavailable as exc:
            self._refuse(name, 503, f"Directory accounts cannot sign in now: {exc}. Local "
                         "accounts still can; tell IT (`plantops doctor` checks the directory).")
        except NotInAGroup:
            self._refuse(name, 403, NOT_IN_A_GROUP)
        return False

    def refusal(self, name: str) -> tuple[int, str] | None:
        """(HTTP status, message) of ``name``'s last sign-in that failed for a reason other
        than its password, taken once."""
        with self._lock:
            return self._refusals.pop(self.normalise(name), None)

    def _refuse(self, name: str, status: int, message: str) -> None:
        with self._lock:
            self._refusals[name] = (status, message)

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

    def require(self, request: gr.Request | None, permission: Permission) -> User:
        user = self.user(request)
        if user is None:
            raise gr.Error("You are not signed in (or your account was removed). "
                           "Reload the page and sign in.")
        if not user.may(permission):
            raise gr.Error(f"Not allowed: the {user.role} role cannot use '{permission}'. "
                           "Ask an admin if you need it.")
        return user
