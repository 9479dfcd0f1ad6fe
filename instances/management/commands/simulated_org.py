"""`manage.py simulated_org`: the demo's simulated Salesforce org, until stopped.

`manage.py serve` starts it beside the web server and the task cluster when DEMO_SIMULATED_ORG
is on (`make run` turns it on); it refuses to start otherwise, and without DEBUG.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from instances.salesforce.simulation import LABEL
from instances.salesforce.simulation.demo import SimulationRefused, serving


class Command(BaseCommand):
    help = "Run the demo's simulated Salesforce org on 127.0.0.1 (demo only: needs DEBUG)."

    def handle(self, *args: Any, **options: Any) -> None:
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
        signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
        try:
            with serving() as org:
                self.stdout.write(f"{LABEL} at {org.url} (not Salesforce; Ctrl-C stops it)")
                self.stdout.flush()
                stop.wait()
        except SimulationRefused as exc:
            raise CommandError(str(exc)) from None
        except OSError as exc:  # the port is taken
            raise CommandError(f"The simulated org could not listen: {exc}") from None
