"""Who is asking, and may they: resolved on the server for every request."""

from __future__ import annotations

import gradio as gr

from app.records.users import LOCAL_USER, Permission, User, UserStore
from app.ui.grants import FileGrants


class Access:
    """Single-user mode (no login, everyone is the local admin) or login against the
    user store; in both, each handler asks `require` before doing anything."""

    def __init__(self, users: UserStore, single_user: bool) -> None:
        self.users = users
        self.single_user = single_user
        self.grants = FileGrants()  # files handed to one user, fetched after a role check

    @staticmethod
    def normalise(name: str) -> str:
        """User names are stored lower-case: "OPER1" signs in as, and stays, oper1."""
        return name.strip().lower()

    def login(self, name: str, password: str) -> bool:
        """Gradio's login check."""
        return self.users.verify(self.normalise(name), password) is not None

    def user_named(self, name: str | None) -> User | None:
        """The user behind a signed-in session's name (the name as typed at sign-in)."""
        if self.single_user:
            return LOCAL_USER
        return self.users.get(self.normalise(name)) if name else None  # removed: no access

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
