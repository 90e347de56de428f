"""Loopback ports for the servers tests, benchmarks and the demo spawn: a free one, and waiting until a
spawned process listens on it (or saying why it never did)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    """A port nothing listens on now (the OS picks it; a tiny race with other processes remains)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_listening(
    port: int, process: subprocess.Popen[bytes], *, within_s: float = 30, log: Path | None = None
) -> None:
    """Return once `process` accepts connections on 127.0.0.1:`port`; raise RuntimeError (with the end of
    its log, when there is one) if it exits first or is not listening within `within_s` seconds."""
    deadline = time.monotonic() + within_s
    while process.poll() is None and time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    exited = process.poll() is not None
    what = f"exited with {process.returncode}" if exited else f"not listening after {within_s:.0f} s"
    tail = log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""
    command = " ".join(map(str, process.args)) if isinstance(process.args, list) else str(process.args)
    raise RuntimeError(f"{command} on port {port}: {what}" + (f"\n{tail}" if tail else ""))
