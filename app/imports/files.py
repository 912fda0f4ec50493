"""Uploaded workbooks on disk: var/imports/<batch id>/workbook.xlsx until the batch is done."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from pathlib import Path
from typing import BinaryIO

from app.config import ROOT
from app.errors import TooLarge

STORAGE = ROOT / "var" / "imports"
"""Where uploads wait for their job (tests point it elsewhere)."""
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
                raise TooLarge(f"the file is larger than {max_mb} MB")
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
