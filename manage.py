#!/usr/bin/env python
"""Django's command-line utility for releasemgr.

An incomplete environment (no SECRET_KEY outside DEBUG, an unreachable database, …) ends a
command with one line saying what is missing, not a traceback. The commands that only read
and write git objects run with settings that need no environment at all.
"""

import os
import sys

# Commands that need no database, secret or data directory (releasemgr/settings_offline.py).
GIT_ONLY_COMMANDS = {"merge_tree", "build_package"}
EXIT_ENVIRONMENT = 2


def main() -> None:
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command in GIT_ONLY_COMMANDS:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "releasemgr.settings_offline")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "releasemgr.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db.utils import OperationalError

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"manage.py {command}: the environment is incomplete: {exc}\n")
        sys.exit(EXIT_ENVIRONMENT)
    except OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        sys.stderr.write(f"manage.py {command}: cannot use the database: {first}\n")
        sys.exit(EXIT_ENVIRONMENT)


if __name__ == "__main__":
    main()
