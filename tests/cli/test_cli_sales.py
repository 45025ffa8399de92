"""``liveslice sales import FILE``: the same import as the API, from the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from runtime.config import Settings
from store.db import session_scope
from store.models import Sale

EXPORT = "订单编号,支付时间,商品编码,商品数量,实付金额,订单状态\nCLI-1,2026-11-20 20:00,LS-0001,2,178,已付款\n"


def _cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVESLICE_")}
    env["LIVESLICE_MEDIA_ROOT"] = str(tmp_path / "media")
    return subprocess.run(
        [sys.executable, "-m", "liveslice", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_sales_import_stores_once_and_reports_problems(tmp_path: Path) -> None:
    export = tmp_path / "shop.csv"
    export.write_bytes(EXPORT.encode("gb18030"))
    first = _cli(tmp_path, "sales", "import", str(export))
    assert first.returncode == 0, first.stderr
    assert "1 new" in first.stdout
    again = _cli(tmp_path, "sales", "import", str(export))
    assert "0 new" in again.stdout and "1 unchanged" in again.stdout
    settings = Settings(_env_file=None, media_root=tmp_path / "media")  # type: ignore[call-arg]
    with session_scope(settings.database_url) as session:
        (sale,) = session.scalars(select(Sale)).all()
        assert (sale.order_id, sale.amount, sale.source) == ("CLI-1", 17800, "import")
    bad = tmp_path / "bad.csv"
    bad.write_text(EXPORT.replace("178", "1x"), encoding="utf-8")
    failed = _cli(tmp_path, "sales", "import", str(bad))
    assert failed.returncode == 2 and "bad.csv:2: amount:" in failed.stderr
