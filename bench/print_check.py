"""Print check: every workbook the service hands out, as LibreOffice prints it.

Builds a demo ledger in a scratch SQLite database, downloads the survey template, the ledger
export, an error workbook, the due list, /stats, a plan workbook and its progress, converts
each to PDF with LibreOffice (headless) and renders the first pages to PNG with pdftoppm, then
prints a table of sheets, pages and paper per file. Look at the PNGs before filing a print
change.

    .venv/bin/python bench/print_check.py            # → bench/out/print/*.pdf, *.png
    .venv/bin/python bench/print_check.py --pages 3  # more pages per file as PNG

Needs Debian's libreoffice-calc-nogui (or libreoffice), poppler-utils and fonts-noto-cjk.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(__file__).resolve().parent / "out" / "print"
A4 = (595, 842)  # points


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2, help="pages per file rendered to PNG")
    parser.add_argument("--count", type=int, default=800, help="assets in the demo ledger")
    args = parser.parse_args()
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None or shutil.which("pdftoppm") is None:
        print("needs libreoffice (soffice) and pdftoppm (poppler-utils)", file=sys.stderr)
        return 2
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="rr-print-") as tmp:
        books = download_all(Path(tmp), args.count)
        rows = []
        for name, data in books.items():
            xlsx = OUT / f"{name}.xlsx"
            xlsx.write_bytes(data)
            pdf = to_pdf(office, xlsx, Path(tmp))
            pages, size = pdf_pages(pdf)
            pages_to = ["-f", "1", "-l", str(args.pages)]
            subprocess.run(
                ["pdftoppm", "-png", "-r", "60", *pages_to, str(pdf), str(OUT / name)], check=True
            )
            rows.append((name, sheet_names(data), pages, paper(size)))
    print(f"{'file':<14} {'pages':>5}  {'paper':<16} sheets")
    for name, sheets, pages, kind in rows:
        print(f"{name:<14} {pages:>5}  {kind:<16} {', '.join(sheets)}")
    print(f"PDF and PNG pages in {OUT}")
    return 0


def download_all(tmp: Path, count: int) -> dict[str, bytes]:
    """The workbooks, from a demo ledger served in-process."""
    os.environ["APP_DATABASE_URL"] = f"sqlite:///{tmp / 'print.db'}"
    os.environ["APP_ENV"] = "test"
    sys.path.insert(0, str(ROOT))
    from fastapi.testclient import TestClient

    from app.cli import main as cli
    from app.config import get_settings
    from app.db import make_engine, make_sessionmaker
    from app.imports import files, worker
    from app.main import create_app

    get_settings.cache_clear()
    files.STORAGE = tmp / "imports"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli(["demo", "--count", str(count)]) == 0
    token = re.search(r"token \(national admin\): (\S+)", out.getvalue())
    assert token is not None, out.getvalue()
    factory = make_sessionmaker(make_engine(get_settings().database_url))
    books: dict[str, bytes] = {}
    with TestClient(create_app(), raise_server_exceptions=True) as client:
        client.headers["Authorization"] = f"Bearer {token.group(1)}"
        api = "/api/v1"

        def get(path: str, **params: Any) -> bytes:
            resp = client.get(api + path, params=params)
            assert resp.status_code == 200, (path, resp.status_code, resp.text[:300])
            return resp.content

        books["template"] = get("/templates/survey.xlsx")
        books["ledger"] = get("/assets/export.xlsx", region="41")
        books["due"] = get("/due", format="xlsx", region="41")
        books["stats"] = get("/stats", format="xlsx", region="41")
        plan = client.post(
            f"{api}/plans", json={"region": "41", "first_year": 2026, "last_year": 2028}
        )
        assert plan.status_code == 201, plan.text
        plan_id = plan.json()["id"]
        books["plan"] = get(f"/plans/{plan_id}/export.xlsx")
        books["progress"] = get(f"/plans/{plan_id}/progress", format="xlsx")
        books["errors"] = error_workbook(client, factory, worker)
    return books


def error_workbook(client: Any, factory: Any, worker: Any) -> bytes:
    """A survey with typical mistakes, uploaded as a dry run: its errors workbook."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "电梯"
    ws.append(["设备编号", "行政区划代码", "设备名称", "投入使用日期", "层站数", "状态"])
    ws.append(["E-9001", "410102", "一号楼1单元电梯", "2003-05-01", 18, "在用"])
    ws.append(["E-9002", "999999", "二号楼电梯", "2003-13-01", "十八", "在用"])
    ws.append(["", "410102", "三号楼电梯", "2004-01-01", 12, "运行中"])
    ws.append(["E-9004", "410103", "四号楼电梯（东侧，靠近地下车库入口）", "去年", 9, "在用"])
    buf = io.BytesIO()
    wb.save(buf)
    resp = client.post(
        "/api/v1/imports",
        files={"file": ("金水区电梯普查.xlsx", buf.getvalue(), "application/octet-stream")},
        data={"dry_run": "true"},
    )
    assert resp.status_code == 202, resp.text
    batch_id = resp.json()["id"]
    deadline = time.monotonic() + 60
    while client.get(f"/api/v1/imports/{batch_id}").json()["status"] not in (
        "validated",
        "committed",
        "failed",
    ):
        worker.run_pending(factory)
        assert time.monotonic() < deadline
        time.sleep(0.1)
    resp = client.get(f"/api/v1/imports/{batch_id}/errors.xlsx")
    assert resp.status_code == 200, resp.text
    return bytes(resp.content)


def to_pdf(office: str, xlsx: Path, tmp: Path) -> Path:
    profile = tmp / "lo-profile"
    subprocess.run(
        [
            office,
            f"-env:UserInstallation=file://{profile}",
            "--headless",
            "--convert-to",
            "pdf",
            *("--outdir", str(OUT), str(xlsx)),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return xlsx.with_suffix(".pdf")


def pdf_pages(pdf: Path) -> tuple[int, tuple[float, float]]:
    info = subprocess.run(["pdfinfo", str(pdf)], check=True, capture_output=True, text=True)
    pages = int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1))  # type: ignore[union-attr]
    w, h = re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info.stdout).groups()  # type: ignore[union-attr]
    return pages, (float(w), float(h))


def paper(size: tuple[float, float]) -> str:
    w, h = round(size[0]), round(size[1])
    if (w, h) == A4:
        return "A4 portrait"
    if (h, w) == A4:
        return "A4 landscape"
    return f"{w}x{h} pt"


def sheet_names(data: bytes) -> list[str]:
    import openpyxl

    return list(openpyxl.load_workbook(io.BytesIO(data), read_only=True).sheetnames)


if __name__ == "__main__":
    raise SystemExit(main())
