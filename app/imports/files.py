"""Uploaded workbooks on disk: var/imports/<batch id>/workbook.xlsx until the batch is done."""

from __future__ import annotations

import hashlib
import shutil
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from app.config import get_settings
from app.errors import TooLarge

STORAGE = get_settings().imports.storage_dir
"""Where uploads wait for their job (`APP_IMPORTS__STORAGE_DIR`; tests point it elsewhere)."""
CHUNK = 1 << 20


def path_of(batch: object) -> Path:
    """The stored workbook of a batch."""
    return STORAGE / str(getattr(batch, "id", batch)) / "workbook.xlsx"


def receive(source: BinaryIO, max_mb: int) -> tuple[Path, str, int]:
    """Copy an upload to a temporary file under the storage folder; (path, sha256, size).

    Stops reading as soon as the limit is passed, so an oversized upload is a 413.
    """
    STORAGE.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    limit = max_mb * 1024 * 1024
    tmp = STORAGE / f"upload-{uuid.uuid4().hex}.part"
    with tmp.open("wb") as out:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if size > limit:
                out.close()
                tmp.unlink(missing_ok=True)
                raise TooLarge(f"上传的文件超过 {max_mb} MB 的上限;请拆分成几个工作簿上传")
            digest.update(chunk)
            out.write(chunk)
    return tmp, digest.hexdigest(), size


def keep(tmp: Path, batch_id: int) -> Path:
    """Move a received upload to its batch's folder."""
    target = path_of(batch_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp.replace(target)
    return target


def remove(batch_id: int) -> None:
    """Delete a batch's stored workbook (after commit or failure)."""
    shutil.rmtree(STORAGE / str(batch_id), ignore_errors=True)


def leftovers(live: set[int], older_than: timedelta) -> list[Path]:
    """Stored files no batch will read again: folders of batches that are not queued, running
    or a dry run awaiting commit, and partial uploads of interrupted requests, once older than
    `older_than` (a batch being created has its folder before its row is committed)."""
    if not STORAGE.exists():
        return []
    cutoff = time.time() - older_than.total_seconds()
    out = []
    for path in STORAGE.iterdir():
        if path.stat().st_mtime > cutoff:
            continue
        finished = path.is_dir() and path.name.isdigit() and int(path.name) not in live
        partial = path.is_file() and path.name.startswith("upload-") and path.suffix == ".part"
        if finished or partial:
            out.append(path)
    return out


def delete(path: Path) -> None:
    """Delete a stored folder or file."""
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
