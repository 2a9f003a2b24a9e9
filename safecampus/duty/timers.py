"""The duty app's deadlines (worker timers): shift reminders, spot-check limits, the gap scan."""

# Shift reminders, spot-check limits and the gap scan: their handlers live with their services.
from . import gapscan, reminders, spotchecks  # noqa: F401
