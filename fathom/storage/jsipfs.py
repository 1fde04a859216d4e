"""The bundled IPFS node: js-ipfs from node_modules (`npm ci` installs it), private and offline.

`IpfsDaemon(workdir).init()` writes a repository under `workdir/repo` with a config that
keeps the node alone on 127.0.0.1 (no swarm listeners, no bootstrap peers, no discovery,
no gateway: nothing else to collide with) and its API on one port; `start()` runs
`jsipfs daemon --offline` in its own process group and waits for the API; `stop()` ends
the group. `fathom devnet --ipfs` and the tests use it; `FATHOM_IPFS_API=<.api>` points
the CLI at it. By hand (README, "The bundled IPFS node"):

    IPFS_PATH=/some/repo node_modules/.bin/jsipfs init --emptyRepo config.json
    IPFS_PATH=/some/repo node_modules/.bin/jsipfs daemon --offline
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from fathom.config import PROJECT_ROOT
from fathom.errors import FathomError

JSIPFS = PROJECT_ROOT / "node_modules" / ".bin" / "jsipfs"
#: Seconds allowed for `jsipfs init` and for the daemon's API to answer (by default).
DEADLINE = 90.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class IpfsDaemonError(FathomError, RuntimeError):
    """The daemon could not be set up or started; the message has its output."""


def _tail(path: Path, limit: int = 4000) -> str:
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return "(none)"
    text = text.strip() or "(empty)"
    return text if len(text) <= limit else "..." + text[-limit:]


class IpfsDaemon:
    """One js-ipfs node: `init()` a repository under `workdir`, `start()`, `stop()`."""

    def __init__(self, workdir: Path, port: int | None = None):
        self.workdir = Path(workdir)
        self.repo = self.workdir / "repo"
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.startup_seconds: float | None = None
        self.stdout_path = self.workdir / "daemon.stdout"
        self.stderr_path = self.workdir / "daemon.stderr"

    @property
    def api(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v0"

    def _env(self) -> dict[str, str]:
        return {**os.environ, "IPFS_PATH": str(self.repo)}

    def init(self) -> None:
        if not JSIPFS.exists():
            raise IpfsDaemonError(f"{JSIPFS} is missing: run `make setup` (npm ci installs js-ipfs)")
        config = {
            # No swarm listeners, no bootstrap peers, no discovery: a node alone on 127.0.0.1.
            "Addresses": {"Swarm": [], "API": f"/ip4/127.0.0.1/tcp/{self.port}", "Gateway": "", "RPC": "", "Delegates": []},
            "Bootstrap": [],
            "Discovery": {"MDNS": {"Enabled": False}, "webRTCStar": {"Enabled": False}},
        }
        self.workdir.mkdir(parents=True, exist_ok=True)
        config_path = self.workdir / "init-config.json"
        config_path.write_text(json.dumps(config))
        try:
            done = subprocess.run(
                [str(JSIPFS), "init", "--emptyRepo", str(config_path)],
                env=self._env(),
                capture_output=True,
                text=True,
                timeout=DEADLINE,
            )
        except subprocess.TimeoutExpired:
            raise IpfsDaemonError(f"`jsipfs init` did not finish within {DEADLINE:g}s") from None
        if done.returncode != 0:
            raise IpfsDaemonError(f"`jsipfs init` failed (exit {done.returncode}):\n{done.stderr.strip() or done.stdout.strip()}")

    def _answers(self) -> bool:
        request = urllib.request.Request(f"{self.url}/version", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return response.status == 200 and b"Version" in response.read()
        except (urllib.error.URLError, OSError):
            return False

    def start(self, deadline: float | None = None) -> None:
        """Spawn the daemon in its own process group and wait for its API (`DEADLINE` seconds by default)."""
        deadline = DEADLINE if deadline is None else deadline
        started = time.monotonic()
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(
                [str(JSIPFS), "daemon", "--offline"],
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        while True:
            # Ready when it says so and its API answers (not some other process on the port).
            if "Daemon is ready" in _tail(self.stdout_path) and self._answers():
                self.startup_seconds = time.monotonic() - started
                return
            if "EADDRINUSE" in _tail(self.stderr_path):  # js-ipfs logs it and hangs on
                self.stop()
                raise IpfsDaemonError(f"jsipfs daemon cannot listen on port {self.port}.\nstderr:\n{_tail(self.stderr_path)}")
            code = self.proc.poll()
            if code is not None:
                self.proc = None
                raise IpfsDaemonError(
                    f"jsipfs daemon exited with code {code} before its API answered on port {self.port}.\n"
                    f"stderr:\n{_tail(self.stderr_path)}\nstdout:\n{_tail(self.stdout_path)}"
                )
            if time.monotonic() - started > deadline:
                self.stop()
                raise IpfsDaemonError(
                    f"jsipfs daemon's API did not answer on port {self.port} within {deadline:g}s.\n"
                    f"stderr:\n{_tail(self.stderr_path)}\nstdout:\n{_tail(self.stdout_path)}"
                )
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM the daemon's process group, SIGKILL it if it lingers (js-ipfs can
        take several seconds to shut down; its repository is thrown away anyway)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        for sig, wait in ((signal.SIGTERM, 2), (signal.SIGKILL, 10)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        try:  # anything left in the group (the daemon has no children today)
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def start_ipfs_daemon(workdir: Path, attempts: int = 3) -> IpfsDaemon:
    """Init and start a daemon; retries on a new port if another process took the port."""
    last: IpfsDaemonError | None = None
    for attempt in range(attempts):
        daemon = IpfsDaemon(Path(workdir) / f"node{attempt}")
        daemon.init()
        try:
            daemon.start()
            return daemon
        except IpfsDaemonError as exc:
            last = exc
            if "EADDRINUSE" not in str(exc):
                raise
    assert last is not None
    raise last
