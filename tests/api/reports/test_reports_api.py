"""``GET /api/reports`` as JSON and CSV, ``/api/reports.csv`` and the daily series, by role: admin and
merchant see everything, a leader only their own rows, other roles and no key are refused."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from runtime.config import Settings
from services.reports import COLUMNS
from store.db import session_scope
from tests.support import sales_data as data

RANGE = {"from": "2024-05-10", "to": "2024-05-10", "tz": "Asia/Shanghai"}


@pytest.fixture
def client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


@pytest.fixture
def shop(settings: Settings) -> dict[str, str]:
    with session_scope(settings.database_url) as session:
        return data.shop(session)


def _auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_json_rows_follow_the_contract(client: TestClient, shop: dict[str, str], issue_key: Callable[..., str]) -> None:
    answer = client.get("/api/reports", params={**RANGE, "group_by": "leader"}, headers=_auth(issue_key("merchant")))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["group_by"], body["from"], body["to"], body["tz"]) == (
        "leader",
        "2024-05-10",
        "2024-05-10",
        "Asia/Shanghai",
    )
    rows = {(r["key"], r["currency"]): r for r in body["rows"]}
    assert set(body["rows"][0]) == set(COLUMNS)
    ann = rows[("ann", "CNY")]
    assert (ann["label"], ann["scans"], ann["clicks"], ann["bot_hits"], ann["orders"], ann["gmv"]) == (
        "安团长",
        2,
        6,
        3,
        2,
        19900,
    )
    # Ann's own entries: 9.90 - 1.00 + 10.00 - 2.00 (Bo's 0.99 level 2 on her sale is on Bo's row)
    assert (ann["refunds"], ann["commission"], ann["conversion"]) == (1000, 1690, round(2 / 7, 4))
    utc = client.get("/api/reports", params={**RANGE, "tz": "UTC"}, headers=_auth(issue_key("admin")))
    assert utc.status_code == 200 and utc.json()["tz"] == "UTC"


def test_csv_by_accept_header_and_by_suffix(
    client: TestClient, shop: dict[str, str], issue_key: Callable[..., str]
) -> None:
    headers = {**_auth(issue_key("admin")), "Accept": "text/csv"}
    by_accept = client.get("/api/reports", params={**RANGE, "group_by": "product"}, headers=headers)
    by_suffix = client.get(
        "/api/reports.csv", params={**RANGE, "group_by": "product"}, headers=_auth(issue_key("admin"))
    )
    for answer in (by_accept, by_suffix):
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/csv")
        assert answer.headers["content-disposition"] == (
            'attachment; filename="liveslice-report-product-2024-05-10-2024-05-10.csv"'
        )
    assert by_accept.content == by_suffix.content
    rows = list(csv.DictReader(io.StringIO(by_suffix.content.decode("utf-8-sig"))))
    assert list(rows[0]) == list(COLUMNS)
    tea = next(r for r in rows if r["key"] == "TEA" and r["currency"] == "CNY")
    assert (tea["label"], tea["orders"], tea["gmv"], tea["clicks"]) == ("龙井茶", "2", "13900", "4")


def test_a_leader_gets_only_their_own_rows(
    client: TestClient, shop: dict[str, str], issue_key: Callable[..., str]
) -> None:
    bo = _auth(issue_key("leader", leader_id="bo"))
    rows = client.get("/api/reports", params={**RANGE, "group_by": "leader"}, headers=bo).json()["rows"]
    shown = [(r["key"], r["currency"], r["scans"], r["gmv"], r["commission"]) for r in rows]
    assert shown == [("bo", "USD", 1, 1500, 0), ("bo", "CNY", 0, 0, 99)]  # and Bo's level 2 on Ann's sale
    clips = client.get("/api/reports.csv", params={**RANGE, "group_by": "clip"}, headers=bo).content.decode("utf-8-sig")
    assert shop["cups"] not in clips and shop["tea"] in clips
    series = client.get("/api/reports/timeseries", params=RANGE, headers=bo).json()
    assert series["totals"]["scans"] == 1 and series["totals"]["clicks"] == 0
    stranger = _auth(issue_key("leader", leader_id="cy"))
    assert client.get("/api/reports", params=RANGE, headers=stranger).json()["rows"] == []


def test_roles_and_bad_parameters(client: TestClient, shop: dict[str, str], issue_key: Callable[..., str]) -> None:
    assert client.get("/api/reports", params=RANGE).status_code == 401
    assert client.get("/api/reports.csv", params=RANGE).status_code == 401
    content = _auth(issue_key("content"))
    assert client.get("/api/reports", params=RANGE, headers=content).status_code == 403
    assert client.get("/api/reports/timeseries", params=RANGE, headers=content).status_code == 403
    admin = _auth(issue_key("admin"))
    bad_tz = client.get("/api/reports", params={**RANGE, "tz": "Mars/Base"}, headers=admin)
    assert bad_tz.status_code == 422 and "time zone" in bad_tz.json()["detail"]["message"]
    bad_group = client.get("/api/reports", params={**RANGE, "group_by": "colour"}, headers=admin)
    assert bad_group.status_code == 422 and "group_by" in bad_group.json()["detail"]["message"]
    backwards = client.get("/api/reports", params={"from": "2024-05-11", "to": "2024-05-10"}, headers=admin)
    assert backwards.status_code == 422


def test_timeseries_points_per_day(client: TestClient, shop: dict[str, str], issue_key: Callable[..., str]) -> None:
    params = {"from": "2024-05-09", "to": "2024-05-11", "tz": "Asia/Shanghai"}
    body = client.get("/api/reports/timeseries", params=params, headers=_auth(issue_key("merchant"))).json()
    assert [d["date"] for d in body["days"]] == ["2024-05-09", "2024-05-10", "2024-05-11"]
    assert body["days"][1]["gmv"] == {"CNY": 19900, "USD": 1500} and body["days"][1]["orders"] == 3
    assert body["days"][0]["clicks"] == 5  # 23:00 on the 9th in Shanghai
    assert body["currency"] == "CNY"
