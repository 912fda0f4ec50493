"""The change log over HTTP: what each change records, reasons, history, filters, atomicity."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.assets.models import Asset
from app.audit.models import Change, ChangeSet
from app.errors import Invalid
from app.rules import service as rules_service
from tests.accounts.conftest import A, collect
from tests.factories import create, payload

API = "/api/v1"


def history(client: TestClient, asset_id: int) -> list[dict[str, Any]]:
    return collect(client, f"{API}/assets/{asset_id}/history")


def counts(db: sessionmaker[Session]) -> tuple[int, int, int]:
    with db() as session:
        return (
            session.scalar(select(func.count()).select_from(Asset)) or 0,
            session.scalar(select(func.count()).select_from(ChangeSet)) or 0,
            session.scalar(select(func.count()).select_from(Change)) or 0,
        )


class TestAssetChanges:
    def test_create_records_actor_request_and_set_fields(self, client: TestClient) -> None:
        resp = client.post(
            f"{API}/assets", json=payload("gas_pipe", length_m="120.50", region_code=A)
        )
        asset = resp.json()
        (entry,) = history(client, asset["id"])
        me = client.get(f"{API}/me").json()
        assert (entry["actor_id"], entry["actor_name"]) == (me["account_id"], me["name"])
        assert entry["request_id"] == resp.headers["x-request-id"]
        assert (entry["action"], entry["object_type"], entry["kind"]) == ("create", "asset", "api")
        assert (entry["object_id"], entry["region_code"]) == (str(asset["id"]), A)
        assert entry["category"] == "gas_pipe" and entry["before"] is None
        after = entry["after"]
        assert after["length_m"] == "120.5" and after["commissioned_on"] == "2000-01-01"
        assert after["asset_code"] == asset["asset_code"] and None not in after.values()
        assert "name" not in after  # fields not set are not listed
        at = datetime.fromisoformat(entry["at"])
        assert at.tzinfo is not None and abs(datetime.now(UTC) - at) < timedelta(minutes=1)

    def test_update_records_changed_fields_only(self, client: TestClient) -> None:
        asset = create(client, "elevator", name="1号楼电梯", floors=18)
        client.patch(f"{API}/assets/{asset['id']}", json={"name": "1号楼1单元电梯", "floors": 18})
        latest = history(client, asset["id"])[0]
        assert latest["action"] == "update"
        assert latest["before"] == {"name": "1号楼电梯"}
        assert latest["after"] == {"name": "1号楼1单元电梯"}

    def test_update_that_changes_nothing_records_nothing(self, client: TestClient) -> None:
        asset = create(client, "boiler", fuel="coal")
        assert client.patch(f"{API}/assets/{asset['id']}", json={"fuel": "coal"}).status_code == 200
        assert [e["action"] for e in history(client, asset["id"])] == ["create"]

    def test_delete_keeps_a_snapshot_and_stays_findable(self, client: TestClient) -> None:
        asset = create(client, "boiler", fuel="coal")
        client.patch(f"{API}/assets/{asset['id']}", json={"fuel": "gas"})
        assert client.delete(f"{API}/assets/{asset['id']}").status_code == 204
        assert client.get(f"{API}/assets/{asset['id']}/history").status_code == 404
        entries = collect(client, f"{API}/changes", object_type="asset", object_id=asset["id"])
        assert [e["action"] for e in entries] == ["delete", "update", "create"]
        assert entries[0]["before"]["fuel"] == "gas" and entries[0]["after"] is None
        assert entries[0]["before"]["asset_code"] == asset["asset_code"]

    def test_history_pages_newest_first(self, client: TestClient) -> None:
        asset = create(client, "elevator")
        for n in range(4):
            client.patch(f"{API}/assets/{asset['id']}", json={"floors": 10 + n})
        url = f"{API}/assets/{asset['id']}/history"
        page = client.get(url, params={"limit": 2}).json()
        rest = client.get(url, params={"limit": 10, "cursor": page["next_cursor"]}).json()
        entries = page["items"] + rest["items"]
        assert [e["action"] for e in entries] == ["update"] * 4 + ["create"]
        assert [e["after"].get("floors") for e in entries[:4]] == [13, 12, 11, 10]
        assert rest["next_cursor"] is None


class TestReason:
    @pytest.mark.parametrize(
        "header",
        [
            "普查更正：楼栋号录错".encode(),  # raw UTF-8, as curl sends it
            quote("普查更正：楼栋号录错"),  # percent-encoded, as browsers must send it
        ],
    )
    def test_reason_header_is_recorded(self, client: TestClient, header: str | bytes) -> None:
        asset = create(client, "elevator")
        headers = {"X-Change-Reason": header}
        client.patch(f"{API}/assets/{asset['id']}", json={"building": "3号楼"}, headers=headers)
        assert history(client, asset["id"])[0]["reason"] == "普查更正：楼栋号录错"

    def test_no_header_no_reason(self, client: TestClient) -> None:
        asset = create(client, "elevator")
        assert history(client, asset["id"])[0]["reason"] is None

    @pytest.mark.parametrize("header", ["x" * 501, "%FF%FE"])
    def test_bad_reason_is_422_and_changes_nothing(
        self, client: TestClient, db: sessionmaker[Session], header: str
    ) -> None:
        asset = create(client, "elevator", name="旧")
        before = counts(db)
        resp = client.patch(
            f"{API}/assets/{asset['id']}",
            json={"name": "新"},
            headers={"X-Change-Reason": header},
        )
        assert resp.status_code == 422
        assert resp.json()["errors"][0]["field"] == "X-Change-Reason"
        assert counts(db) == before
        assert client.get(f"{API}/assets/{asset['id']}").json()["name"] == "旧"


class TestFailedRequestsLeaveNoTrace:
    @pytest.mark.parametrize(
        ("error", "status"), [(Invalid("flags could not be computed"), 422), (RuntimeError(), 500)]
    )
    def test_failure_after_recording_rolls_everything_back(
        self,
        client: TestClient,
        db: sessionmaker[Session],
        monkeypatch: pytest.MonkeyPatch,
        error: Exception,
        status: int,
    ) -> None:
        asset = create(client, "elevator", name="旧")
        before = counts(db)

        def boom(*_args: object, **_kwargs: object) -> None:
            raise error

        monkeypatch.setattr(rules_service, "refresh_asset_flags", boom)
        created = client.post(f"{API}/assets", json=payload("elevator"))
        changed = client.patch(f"{API}/assets/{asset['id']}", json={"name": "新"})
        assert created.status_code == changed.status_code == status
        assert counts(db) == before
        assert client.get(f"{API}/assets/{asset['id']}").json()["name"] == "旧"

    def test_refused_writes_record_nothing(
        self, client: TestClient, db: sessionmaker[Session], make_client: Callable[..., TestClient]
    ) -> None:
        asset = create(client, "elevator")
        before = counts(db)
        viewer, outsider = make_client("viewer", A), make_client("editor", "44")
        after_setup = counts(db)
        assert viewer.patch(f"{API}/assets/{asset['id']}", json={"name": "x"}).status_code == 403
        assert outsider.delete(f"{API}/assets/{asset['id']}").status_code == 404
        assert client.post(f"{API}/assets", json=payload(region_code="999999")).status_code == 422
        dup = {"asset_code": asset["asset_code"]}
        assert client.post(f"{API}/assets", json=payload(**dup)).status_code == 409
        assert client.post(f"{API}/accounts", json={"name": "x", "role": "god"}).status_code == 422
        assert counts(db) == after_setup and after_setup[0] == before[0]


class TestAccountChanges:
    def test_account_and_token_lifecycle_is_logged_without_secrets(
        self, client: TestClient
    ) -> None:
        acc = client.post(
            f"{API}/accounts", json={"name": "王五", "role": "editor", "region_prefix": A}
        ).json()
        issued = client.post(f"{API}/accounts/{acc['id']}/tokens").json()
        client.patch(f"{API}/accounts/{acc['id']}", json={"role": "viewer"})
        client.delete(f"{API}/tokens/{issued['id']}")
        entries = collect(client, f"{API}/changes", object_type="account", object_id=acc["id"])
        assert [e["action"] for e in entries] == ["update", "create"]
        assert entries[0]["before"] == {"role": "editor"} and entries[0]["after"] == {
            "role": "viewer"
        }
        assert entries[1]["after"] == {
            "name": "王五",
            "role": "editor",
            "region_prefix": A,
            "active": True,
        }
        tokens = collect(client, f"{API}/changes", object_type="api_token", object_id=issued["id"])
        assert [e["action"] for e in tokens] == ["revoke", "create"]
        assert {e["region_code"] for e in entries + tokens} == {A}
        text = client.get(f"{API}/changes", params={"limit": 500}).text
        assert issued["token"] not in text

    def test_only_admins_see_account_changes(
        self, client: TestClient, make_client: Callable[..., TestClient]
    ) -> None:
        client.post(f"{API}/accounts", json={"name": "赵六", "role": "viewer", "region_prefix": A})
        create(client, "elevator", region_code=A)
        for role, sees_accounts in (("viewer", False), ("editor", False), ("admin", True)):
            types = {c["object_type"] for c in collect(make_client(role, A), f"{API}/changes")}
            assert ("account" in types) is sees_accounts, role
            assert "asset" in types


class TestChangeList:
    def test_filters(self, client: TestClient, make_client: Callable[..., TestClient]) -> None:
        start = datetime.now(UTC) - timedelta(seconds=1)
        editor = make_client("editor", A)
        mine = create(editor, "elevator")
        theirs = create(client, "boiler")
        name = editor.get(f"{API}/me").json()["name"]
        by_actor = collect(client, f"{API}/changes", actor=name)
        assert [e["object_id"] for e in by_actor] == [str(mine["id"])]
        by_type = collect(client, f"{API}/changes", object_type="asset")
        assert {e["object_id"] for e in by_type} == {str(mine["id"]), str(theirs["id"])}
        one_set = collect(client, f"{API}/changes", change_set=by_actor[0]["change_set_id"])
        assert [e["id"] for e in one_set] == [by_actor[0]["id"]]
        since = collect(client, f"{API}/changes", since=start.isoformat())
        assert {str(mine["id"]), str(theirs["id"])} <= {e["object_id"] for e in since}
        assert collect(client, f"{API}/changes", until=start.isoformat()) == []
        later = (start + timedelta(hours=1)).astimezone().isoformat()  # any offset works
        assert collect(client, f"{API}/changes", since=later) == []
        assert collect(client, f"{API}/changes", batch=777) == []

    def test_keyset_pages_cover_everything_once_newest_first(self, client: TestClient) -> None:
        for _ in range(7):
            create(client, "elevator")
        everything = collect(client, f"{API}/changes")
        ids = [e["id"] for e in everything]
        assert ids == sorted(ids, reverse=True) and len(set(ids)) == len(ids) >= 7
        first = client.get(f"{API}/changes", params={"limit": 3}).json()
        assert [e["id"] for e in first["items"]] == ids[:3]

    @pytest.mark.parametrize(
        "params", [{"cursor": "garbage"}, {"limit": 501}, {"since": "yesterday"}]
    )
    def test_bad_parameters_are_422(self, client: TestClient, params: dict[str, Any]) -> None:
        resp = client.get(f"{API}/changes", params=params)
        assert resp.status_code == 422
        assert resp.headers["content-type"].startswith("application/problem+json")
