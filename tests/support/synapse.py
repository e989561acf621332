"""A real Synapse homeserver for the Matrix tests: installed once, started once per test session
(once per worker under pytest-xdist).

Synapse pins many packages, so it lives in its own virtualenv (``.venv-synapse`` at the repo
root, reused while its stamp names the pinned version). It runs on a free port on 127.0.0.1 with
SQLite, a client listener only, and every ``rc_*`` limit relaxed except ``rc_message``, which
keeps Synapse's default (0.2/s, burst 10): each test user is exempted with the admin API's
``override_ratelimit``, so the one test that needs a rate-limited bot just leaves its bot out.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import itertools
import json
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.ports import free_port

SYNAPSE_VERSION = "1.163.2"
ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv-synapse"
STAMP = VENV / f".installed-{SYNAPSE_VERSION}"
LOCK = ROOT / ".venv-synapse.lock"
SERVER_NAME = "localhost"

RELAXED = {"per_second": 10_000, "burst_count": 10_000}
CONFIG = {
    "server_name": SERVER_NAME,
    "report_stats": False,
    "bcrypt_rounds": 4,
    "enable_registration": False,
    "trusted_key_servers": [],
    "suppress_key_server_warning": True,
    "presence": {"enabled": False},
    "url_preview_enabled": False,
    "rc_login": {"address": RELAXED, "account": RELAXED, "failed_attempts": RELAXED},
    "rc_registration": RELAXED,
    "rc_joins": {"local": RELAXED, "remote": RELAXED},
    "rc_joins_per_room": RELAXED,
    "rc_invites": {"per_room": RELAXED, "per_user": RELAXED, "per_issuer": RELAXED},
    "rc_room_creation": RELAXED,
    "rc_admin_redaction": RELAXED,
    "rc_3pid_validation": RELAXED,
    "rc_media_create": RELAXED,
    "rc_presence": {"per_user": RELAXED},
    "rc_delayed_event_mgmt": RELAXED,
    "rc_reports": RELAXED,
}


def ensure_installed() -> Path:
    """The Synapse virtualenv's python, installing it on first use (about 30 s). Parallel test
    workers wait on a file lock, so one installs and the others find it installed."""
    python = VENV / "bin" / "python"
    with LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (STAMP.exists() and python.exists()):
            _install(python)
    return python


def _install(python: Path) -> None:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"matrix-synapse=={SYNAPSE_VERSION}"],
        check=True,
    )
    STAMP.touch()
    print(f"installed Synapse {SYNAPSE_VERSION} in {time.monotonic() - started:.0f}s")


@dataclass
class User:
    user_id: str
    password: str
    access_token: str


class Synapse:
    """One homeserver process over a data directory that outlives restarts."""

    def __init__(self, python: Path, data: Path) -> None:
        self.python = python
        self.data = data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.secret = secrets.token_hex(16)
        self.process: subprocess.Popen[bytes] | None = None
        self._names = itertools.count(1)
        self._admin: User | None = None
        self.start_seconds = 0.0

    def write_config(self) -> Path:
        key = self.data / "signing.key"
        if not key.exists():
            seed = secrets.token_bytes(32)
            key.write_text("ed25519 a_test " + base64.b64encode(seed).decode().rstrip("=") + "\n")
        config: dict[str, Any] = {
            **CONFIG,
            "pid_file": str(self.data / "homeserver.pid"),
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(self.data / "homeserver.db")}},
            "media_store_path": str(self.data / "media"),
            "signing_key_path": str(key),
            "registration_shared_secret": self.secret,
            "macaroon_secret_key": self.secret + "m",
            "form_secret": self.secret + "f",
        }
        path = self.data / "homeserver.yaml"
        path.write_text(json.dumps(config, indent=1))  # JSON is YAML
        return path

    def start(self) -> None:
        started = time.monotonic()
        config = self.write_config()
        log = (self.data / "synapse.log").open("ab")
        self.process = subprocess.Popen(
            [str(self.python), "-m", "synapse.app.homeserver", "-c", str(config)],
            cwd=self.data,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = (self.data / "synapse.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"Synapse exited with {self.process.returncode}:\n{tail}")
            try:
                with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=1):
                    self.start_seconds = time.monotonic() - started
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        raise RuntimeError("Synapse did not answer within 60 s")

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def request(
        self, method: str, path: str, body: dict[str, Any] | None = None, token: str | None = None
    ) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            result: dict[str, Any] = json.loads(response.read() or b"{}")
            return result

    def register(
        self, name: str | None = None, *, admin: bool = False, limited: bool = False
    ) -> User:
        """A fresh user by shared-secret registration; exempt from ``rc_message`` unless
        ``limited``."""
        username = name or f"u{next(self._names)}x{secrets.token_hex(3)}"
        password = secrets.token_hex(8)
        nonce = self.request("GET", "/_synapse/admin/v1/register")["nonce"]
        mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), username.encode(), password.encode()]))
        mac.update(b"\x00admin" if admin else b"\x00notadmin")
        answer = self.request(
            "POST",
            "/_synapse/admin/v1/register",
            {
                "nonce": nonce,
                "username": username,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            },
        )
        user = User(answer["user_id"], password, answer["access_token"])
        if not limited:
            self.override_ratelimit(user.user_id)
        return user

    def override_ratelimit(self, user_id: str) -> None:
        if self._admin is None:
            self._admin = self.register("admin", admin=True, limited=True)
        self.request(
            "POST",
            f"/_synapse/admin/v1/users/{urllib.request.quote(user_id)}/override_ratelimit",
            {"messages_per_second": 0, "burst_count": 0},
            token=self._admin.access_token,
        )
