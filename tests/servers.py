"""Real gunicorn processes for tests: on free loopback ports, their output in files.

Each server is started from the project directory, as production starts it (gunicorn reads
./gunicorn.conf.py), with only the environment the test gives it: DATABASE_URL, REDIS_URL and
the like from the machine running the tests never leak in.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .fixtures.domain import ROOT

SECRET = "test-secret-key-not-for-production"  # the app fixture's: vote codes are hashed with it
# Settings of the machine that must not reach a server under test unless the test sets them.
_DROPPED_ENV = {
    "DATABASE_URL",
    "REDIS_URL",
    "SECRET_KEY",
    "AUDIT_KEY",  # the tests verify the chain with the key derived from SECRET
    "TRUSTED_PROXIES",
    "BASE_URL",
    "TRUSTED_HOSTS",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "GUNICORN_CMD_ARGS",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path

    def stop(self) -> str:
        """Stop gunicorn (gracefully, else killed) and return everything it wrote."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.log.read_text(errors="replace")


def spawn_gunicorn(
    database_url: str, directory: Path, *, workers: int = 2, threads: int = 4, **env: str
) -> Server:
    """Start gunicorn serving the app on `database_url`; its instance/ and log in `directory`.
    Returns at once: wait_until_up() before sending requests."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = directory / "gunicorn.log"
    environment = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    environment.update(
        {
            "DATABASE_URL": database_url,
            "SECRET_KEY": SECRET,
            "JUDGING_ENV": "development",  # plain-HTTP cookies on 127.0.0.1
            "JUDGING_INSTANCE_PATH": str(directory / "instance"),
            "BASE_URL": f"http://127.0.0.1:{port}",  # links in its mails lead back to it
            "LOG_LEVEL": "WARNING",
            **env,
        }
    )
    with log.open("wb") as output:  # a file, not a pipe: a full pipe would stall the server
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
                "--bind",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return Server(process, f"http://127.0.0.1:{port}", log)


def wait_until_up(server: Server, timeout: float = 120) -> Server:
    """Wait for the server's first answer. Generous: on a shared 2-core machine under load,
    importing the app in a new worker has taken 40 s; a server that dies fails at once."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(server.url + "/", timeout=5).close()
            return server
        except urllib.error.HTTPError:  # an answer, whatever it says: the server is up
            return server
        except OSError:
            if server.process.poll() is not None:
                break
            time.sleep(0.1)
    output = server.stop()
    raise RuntimeError(f"gunicorn did not start: {output[-3000:]}")


def start_gunicorn(database_url: str, directory: Path, **options) -> Server:
    """One gunicorn, started and answering."""
    return wait_until_up(spawn_gunicorn(database_url, directory, **options))


@contextmanager
def gunicorns(count: int, database_url: str, directory: Path, **options):
    """`count` gunicorn servers on one database, started side by side; stopped on exit."""
    servers = [
        spawn_gunicorn(database_url, directory / f"server{n}", **options) for n in range(count)
    ]
    try:
        for server in servers:
            wait_until_up(server)
        yield servers
    finally:
        for server in servers:  # all told at once: their graceful shutdowns overlap
            if server.process.poll() is None:
                server.process.terminate()
        for server in servers:
            server.stop()
