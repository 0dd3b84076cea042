"""Errors of the serving package.

``ServingError`` is the base. ``ModelFolderError``: a model folder is missing,
partial or tampered with. ``ModelServerUnavailable``: no replica answered; ``ModelServerBusy``: one
answered its health check but not the question in time.
``StreamInterrupted``: a replica failed after the answer had started.
"""

from __future__ import annotations


class ServingError(Exception):
    """Base class: messages say what happened and what to do next."""


class ModelFolderError(ServingError):
    """A model folder fails its checksums or is incomplete."""


class ModelServerUnavailable(ServingError):
    """No model server replica could be reached."""


class ModelServerBusy(ModelServerUnavailable):
    """A replica answers /health but did not start the answer within the first-token timeout:
    overloaded, not down (it is not marked down)."""


class StreamInterrupted(ServingError):
    """The model server failed mid-answer; what was streamed is incomplete."""
