"""Real servers for the tests: a throw-away PostgreSQL cluster and a Redis server started from
Debian's binaries, and `helpline serve` itself."""

from __future__ import annotations

import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

# Loading the models on a busy 2-core machine can take a minute or more; this is a ceiling only.
STARTUP_S = 240


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (make system-deps installs it)")
    return found


class PostgresServer:
    """initdb + pg_ctl on a free loopback port; as root, the cluster runs as the postgres user.
    `pause` and `resume` stop and start the same cluster on the same port (an outage)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="helpline-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self._as_postgres = os.geteuid() == 0

    def _run(self, args: Sequence[str]) -> None:
        command = list(args)
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> PostgresServer:
        if self._as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            [_pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync"]
        )
        self.resume()
        return self

    def pause(self) -> None:
        """Stop the server, closing every connection, as an outage would."""
        self._run([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"])

    def resume(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            [
                _pg_bin("pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.root / "log"),
                "-w",
                "start",
            ]
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        try:
            self._run([_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"])
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


class HelplineServer:
    """A real `helpline serve` process on a free port, with its own config and database."""

    def __init__(
        self, config: Path, env: dict[str, str], log: Path, serve_args: Sequence[str] = ()
    ) -> None:
        self.config, self.env, self.log = config, env, log
        self.serve_args = list(serve_args)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def cli(self, *args: str) -> str:
        """Run a `helpline` command against the same config and database."""
        result = subprocess.run(
            [sys.executable, "-m", "bot", *args, "--config", str(self.config)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise AssertionError(f"helpline {' '.join(args)} failed:\n{result.stderr}")
        return result.stdout

    def start(self) -> HelplineServer:
        with self.log.open("w") as output:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bot",
                    "serve",
                    "--port",
                    str(self.port),
                    "--config",
                    str(self.config),
                    *self.serve_args,
                ],
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise AssertionError(f"server exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                    if json.load(response)["status"] == "ok":
                        return
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"server did not become healthy in {STARTUP_S} s")

    @property
    def pid(self) -> int:
        """The server process's id (to read its memory from /proc)."""
        assert self._process is not None, "the server has not been started"
        return self._process.pid

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=30)

    def kill(self) -> None:
        """SIGKILL: the worker dies mid-work, with no chance to finish or clean up."""
        assert self._process is not None, "the server has not been started"
        self._process.kill()
        self._process.wait(timeout=30)


class RedisServer:
    """`redis-server` on a free loopback port without persistence; `stop` and `start` again keep
    the port, so clients can reconnect to the same URL (an outage, then recovery)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="helpline-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (make system-deps installs it)")
        with (self.root / "log").open("a") as output:
            self._process = subprocess.Popen(
                [
                    binary,
                    "--port",
                    str(self.port),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.root),
                ],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise AssertionError(f"redis-server exited:\n{(self.root / 'log').read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not answer in 20 s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=20)
            self._process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
