"""The command line as people meet it: help text, the demo's token and the address it serves."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from app import cli
from app.cli import main as cli_main


def test_help_speaks_to_users(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli_main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "设备更新台账服务" in out and "python -m app COMMAND --help" in out
    assert "register(" not in out and "app/<domain>" not in out  # no developer notes


@pytest.mark.parametrize(
    ("host", "port", "url"),
    [
        ("127.0.0.1", 8000, "http://127.0.0.1:8000"),
        ("0.0.0.0", 8080, "http://127.0.0.1:8080"),
        ("10.0.0.5", 9000, "http://10.0.0.5:9000"),
    ],
)
def test_base_url_is_what_people_type(host: str, port: int, url: str) -> None:
    assert cli.base_url(host, port) == url


def test_demo_prints_a_working_token_and_the_port_it_will_serve(
    app: TestClient, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli_main(["demo", "--count", "20", "--port", "8123"]) == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8123/api/v1/assets" in out and ":8000" not in out
    token = out.split("demo admin token (national admin): ")[1].split()[0]
    other = TestClient(app.app)
    me = other.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["role"] == "admin"


def test_serve_prints_its_address(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import uvicorn

    ran: dict[str, object] = {}
    monkeypatch.setattr(cli, "migrate", lambda: None)
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: ran.update(k))
    assert cli_main(["serve", "--host", "0.0.0.0", "--port", "8124"]) == 0
    out = capsys.readouterr().out
    assert (
        "serving http://127.0.0.1:8124 with 1 process  (API docs: http://127.0.0.1:8124/docs" in out
    )
    assert ran["port"] == 8124 and ran["host"] == "0.0.0.0" and ran["proxy_headers"] is False
    assert ran["workers"] == 1  # development: one process, with the inline worker


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_with_workers_runs_background_work_once_and_stops_cleanly(tmp_path: Path) -> None:
    """Two HTTP processes answer; imports and the daily refresh run in one worker process; a
    SIGTERM stops all of them."""
    port = _free_port()
    env = {
        **os.environ,
        "APP_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "APP_ENV": "development",
        "APP_AUTH__ENABLED": "false",
    }
    env.pop("APP_IMPORTS__INLINE_WORKER", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.5)
        children = _children(server.pid)
        workers = [cmd for _pid, cmd in children if "app worker" in cmd]
        assert len(workers) == 1, children
        assert len(children) >= 3, children  # two HTTP processes and the worker
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            out, _ = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            raise
    assert "with 2 processes" in out, out
    assert server.returncode == 0, out
    deadline = time.monotonic() + 15
    while (
        alive := [pid for pid, _cmd in children if _running(pid)]
    ) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert alive == [], children


def _running(pid: int) -> bool:
    """A process that exists and is not a zombie waiting to be reaped."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of a process's descendants (from /proc)."""
    found: list[tuple[int, str]] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid or _descends(parent, pid):
            found.append((int(entry.name), cmd))
    return found


def _descends(pid: int, ancestor: int) -> bool:
    for _ in range(5):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return False
        pid = int(stat.rsplit(")", 1)[1].split()[1])
        if pid == ancestor:
            return True
        if pid <= 1:
            return False
    return False
