"""Who is asking, and may they: resolved on the server for every request."""

from __future__ import annotations

import gradio as gr

from app.users import LOCAL_USER, Permission, User, UserStore


class Access:
    """Single-user mode (no login, everyone is the local admin) or login against the
    user store; in both, each handler asks `require` before doing anything."""

    def __init__(self, users: UserStore, single_user: bool) -> None:
        self.users = users
        self.single_user = single_user

    def login(self, name: str, password: str) -> bool:
        """Gradio's login check."""
        return self.users.verify(name.strip().lower(), password) is not None

    def user(self, request: gr.Request | None) -> User | None:
        if self.single_user:
            return LOCAL_USER
        name = getattr(request, "username", None)
        return self.users.get(name) if name else None  # removed users lose access at once

    def require(self, request: gr.Request | None, permission: Permission) -> User:
        user = self.user(request)
        if user is None:
            raise gr.Error("You are not signed in (or your account was removed). "
                           "Reload the page and sign in.")
        if not user.may(permission):
            raise gr.Error(f"Not allowed: the {user.role} role cannot use '{permission}'. "
                           "Ask an admin if you need it.")
        return user
