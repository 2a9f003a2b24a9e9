"""The duty app's deadlines (worker timers): shift reminders, spot-check limits, the gap scan."""

# The gap scan: its handler lives with it (reminders and spot checks follow theirs).
from . import gapscan  # noqa: F401
