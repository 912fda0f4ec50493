"""The command line as people meet it: help text, the demo's token and the address it serves."""

from __future__ import annotations

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
    assert "serving http://127.0.0.1:8124  (API docs: http://127.0.0.1:8124/docs" in (
        capsys.readouterr().out
    )
    assert ran["port"] == 8124 and ran["host"] == "0.0.0.0" and ran["proxy_headers"] is False
