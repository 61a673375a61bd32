"""systemd's readiness and watchdog protocol: a datagram to ``$NOTIFY_SOCKET``.

The protocol is a few lines (https://www.freedesktop.org/software/systemd/man/latest/sd_notify.html):
newline-separated ``KEY=VALUE`` assignments sent as one datagram to the AF_UNIX socket
named by ``NOTIFY_SOCKET``; a name starting with ``@`` is in the abstract namespace. With
``Type=notify`` the unit counts as started at ``READY=1``; with ``WatchdogSec=`` systemd
restarts a service that sends no ``WATCHDOG=1`` within ``WATCHDOG_USEC`` microseconds.
Outside systemd the variable is unset and every call does nothing.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping


class SystemdNotifier:
    """Sends state changes to the service manager, if there is one."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self.address = env.get("NOTIFY_SOCKET") or None
        if self.address and self.address.startswith("@"):
            self.address = "\0" + self.address[1:]
        usec = env.get("WATCHDOG_USEC", "")
        pid = env.get("WATCHDOG_PID", "")
        mine = not pid or pid == str(os.getpid())
        #: Seconds within which systemd wants a WATCHDOG=1, or None without a watchdog.
        self.watchdog_seconds = int(usec) / 1e6 if usec.isdigit() and mine else None

    def notify(self, **state: str | int) -> bool:
        """Send ``KEY=VALUE`` lines (``notify(READY=1, STATUS="...")``); False if no socket."""
        if not self.address:
            return False
        message = "\n".join(f"{k}={v}" for k, v in state.items()).encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            try:
                sock.sendto(message, self.address)
            except OSError:
                return False  # the manager went away; the publisher carries on
        return True
