"""`safecampus <command>`: the same as `manage.py <command>` (e.g. `safecampus audit verify`)."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "safecampus.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["safecampus", *sys.argv[1:]])


if __name__ == "__main__":
    main()
