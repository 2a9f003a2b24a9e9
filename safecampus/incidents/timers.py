"""The incidents app's deadlines (worker timers): a stage's acknowledgement limit, after
which the next on the chain is called. The handler lives with its service."""

from . import services  # noqa: F401
