"""Keep stored flags current as days pass: re-evaluate when the stored as_of is older than today.

Stored flags are forward-looking (an age rule knows the day it starts to hold), so only the
date-relative parts move with time: the current status, `immediate` due dates of unsurveyed
assets and rules that hold until an age. A daily re-evaluation keeps those exact.
"""

from __future__ import annotations

import logging
import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.kit.dates import today
from app.rules.models import AssetFlag
from app.rules.service import evaluate_ledger

log = logging.getLogger(__name__)


def refresh_if_stale(factory: sessionmaker[Session]) -> bool:
    """Re-evaluate the ledger if its flags were computed before today; True when it ran."""
    with factory() as session, session.begin():
        stored = session.scalar(select(func.min(AssetFlag.as_of)))
        if stored is None or stored >= today():
            return False
        evaluate_ledger(session)
        return True


class DailyRefresh:
    """A daemon thread that checks hourly whether the ledger needs its daily re-evaluation."""

    def __init__(self, factory: sessionmaker[Session], interval_s: float = 3600) -> None:
        self._factory = factory
        self._interval = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="flags-refresh", daemon=True)

    def start(self) -> DailyRefresh:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                refresh_if_stale(self._factory)
            except Exception:  # keep the thread alive; the next hour retries
                log.exception("daily flag refresh failed")
