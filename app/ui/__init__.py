"""The Gradio front end: one tab per kind of user, each a thin layer over plain handlers."""

from app.ui.app import build_ui, launch_ui

__all__ = ["build_ui", "launch_ui"]
