"""`python -m app plan …`: make a plan and its workbook from the command line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from app.cli import main
from app.plans.cli import parse_budgets
from tests.plans.helpers import API, due_asset


def test_plan_command(
    client: TestClient,
    db: sessionmaker[Session],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    due_asset(client, db, cost="40", due_on=date(2026, 12, 31))
    due_asset(client, db, cost="40", due_on=date(2026, 12, 31))
    out = tmp_path / "plan.xlsx"
    code = main(["plan", "--region", "41", "--first-year", "2026", "--last-year", "2027",
                 "--budget", "50", "--as-of", "2026-03-01", "--out", str(out)])  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert "2 lines, 80.00 万元" in printed
    assert "shortfall: 1 lines, 40.00 万元" in printed
    assert openpyxl.load_workbook(out).sheetnames == ["汇总", "2026年", "2027年", "项目", "说明"]
    (plan,) = client.get(API).json()["items"]
    assert plan["created_by"] == "system"


def test_plan_command_errors(capsys: pytest.CaptureFixture[str], client: TestClient) -> None:
    code = main(["plan", "--region", "41", "--first-year", "2026", "--last-year", "2026",
                 "--budget", "2030=5"])  # fmt: skip
    assert code == 2
    assert "budgets" in capsys.readouterr().err


def test_parse_budgets() -> None:
    assert parse_budgets(["100"], 2026, 2027) == {"2026": "100", "2027": "100"}
    assert parse_budgets(["2026=5", "2027.gas_pipe=3", "2027.elevator=2"], 2026, 2027) == {
        "2026": "5", "2027": {"gas_pipe": "3", "elevator": "2"}}  # fmt: skip
    assert parse_budgets(None, 2026, 2027) is None
