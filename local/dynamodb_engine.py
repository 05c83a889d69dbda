"""The local DynamoDB: dynoxide (a DynamoDB-compatible engine over SQLite), one process per use.

moto's DynamoDB is not atomic under concurrency (its TransactWriteItems copies and restores
tables without a lock), so the local stack and the tests run the real request path against
dynoxide, which executes each request atomically. `npm ci` installs the binary
(`@dynoxide/linux-x64` in package.json).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent
BINARY = ROOT / "node_modules" / "@dynoxide" / "linux-x64" / "dynoxide"
_START_ATTEMPTS = 5
_READY_SECONDS = 10.0


class EngineUnavailable(RuntimeError):
    """The engine could not start; the message (French) says why and what to do."""


def engine_binary() -> Path:
    override = os.environ.get("DYNOXIDE_BIN")
    if override:
        return Path(override)
    if BINARY.is_file():
        return BINARY
    found = shutil.which("dynoxide")
    if found:
        return Path(found)
    raise EngineUnavailable(
        "Le moteur DynamoDB local (dynoxide) est absent : lancez `make node` "
        "(npm ci installe @dynoxide/linux-x64), ou indiquez son chemin dans DYNOXIDE_BIN."
    )


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


class DynamoEngine:
    """`dynoxide serve` on a free loopback port, in memory unless `db_path` is given."""

    def __init__(self, host: str = "127.0.0.1", db_path: Path | None = None) -> None:
        self.host = host
        self.db_path = db_path
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> DynamoEngine:
        binary = engine_binary()
        if not os.access(binary, os.X_OK):
            raise EngineUnavailable(
                f"Le moteur DynamoDB local {binary} n'est pas exécutable : relancez `make node`."
            )
        # dynoxide reports port 0 literally, so the port is chosen here; another process may
        # take it between the probe and the bind, hence the few attempts.
        last_error = ""
        for _ in range(_START_ATTEMPTS):
            self.port = _free_port(self.host)
            command = [str(binary), "serve", "--host", self.host, "--port", str(self.port)]
            if self.db_path is not None:
                command += ["--db-path", str(self.db_path)]
            process = subprocess.Popen(  # noqa: S603 - our own binary, fixed arguments
                command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
            )
            deadline = time.monotonic() + _READY_SECONDS
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    last_error = (process.stderr.read() if process.stderr else b"").decode(errors="replace")
                    break
                if _accepts(self.host, self.port):
                    self._process = process
                    return self
                time.sleep(0.01)
            else:
                process.kill()
                process.wait()
                last_error = f"pas de réponse sur le port {self.port} après {_READY_SECONDS:.0f} s"
        raise EngineUnavailable(
            f"Le moteur DynamoDB local (dynoxide) n'a pas démarré : {last_error.strip()[-500:]}"
        )

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr:
            process.stderr.close()

    def __enter__(self) -> DynamoEngine:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
