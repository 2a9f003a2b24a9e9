"""The duty app's deadlines (worker timers): shift reminders, spot-check limits, the gap scan."""
