"""Start the web server and the task cluster together (and the demo's simulated org when
DEMO_SIMULATED_ORG is on); Ctrl-C (or SIGTERM) stops them all."""

import signal
import socket
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Run the web server and the django-q2 task cluster together (what `make run` starts)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args: Any, host: str, port: int, **options: Any) -> None:
        manage = [sys.executable, "manage.py"]
        names: list[str] = []
        children: list[subprocess.Popen[bytes]] = []
        if settings.DEMO_SIMULATED_ORG:
            # The demo's stand-in for Salesforce (instances/salesforce/simulation/demo.py),
            # listening before the task cluster may deploy to it.
            names.append("simulated org")
            children.append(subprocess.Popen([*manage, "simulated_org"]))
            _wait_for_port(settings.DEMO_SIMULATED_ORG_PORT, children[-1])
        for name, command in (
            ("task cluster", ["qcluster"]),
            ("web server", ["runserver", f"{host}:{port}", "--noreload"]),
        ):
            names.append(name)
            children.append(subprocess.Popen([*manage, *command]))
        self.stdout.write(f"releasemgr is starting at http://{host}:{port}/ (Ctrl-C stops it)")
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping and all(child.poll() is None for child in children):
                time.sleep(0.3)
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 15
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
        failed = [
            name
            for name, child in zip(names, children, strict=True)
            if child.returncode not in (0, -signal.SIGTERM, None)
        ]
        if failed and not stopping:
            self.stderr.write(f"stopped because {', '.join(failed)} exited")
            sys.exit(1)


def _wait_for_port(port: int, child: subprocess.Popen[bytes], seconds: float = 30) -> None:
    """Until 127.0.0.1:`port` accepts connections, `child` exits, or `seconds` pass."""
    deadline = time.monotonic() + seconds
    while child.poll() is None and time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
