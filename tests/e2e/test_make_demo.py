"""The README's first command, as a newcomer runs it: `make demo` in a clean copy of the checkout.

The demo broke once without any test noticing (the registry grew to 170 accounts on three platforms
while the demo still served 10 Meta accounts and set only the Meta token). This test runs the real
`make demo` (real Airflow `dags test`, real sandbox over HTTP, real dbt, GX and DuckDB) in a copy
of the working tree (tracked and new files, nothing ignored: no data/, no dbt target/) with its own
`SOCIALPULSE_HOME` and an environment holding nothing of the test session's, then checks on the
files themselves, not on the demo's own words, that every registry account was fetched without
failure and is in the follower mart of the warehouse and of the published BI copy.

The copy shares the virtualenv this test runs in through a symlink (make is told with `-o` that it is
installed: it is the one running this test) and `PYTHONPATH` points every process at the copy's code.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e


def _clean_copy(dest: Path) -> None:
    """Tracked and untracked-but-not-ignored files of the checkout, mtimes kept."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=REPO, check=True, capture_output=True).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        src = REPO / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    (dest / ".venv").symlink_to(Path(sys.prefix))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    checkout, home = root / "checkout", root / "home"
    _clean_copy(checkout)
    env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "TMPDIR") if key in os.environ}
    env.update(SOCIALPULSE_HOME=str(home), PYTHONPATH=str(checkout))
    proc = subprocess.run(["make", "-o", ".venv/.installed", "demo"], cwd=checkout, env=env, capture_output=True,
                          text=True, timeout=900)
    return proc, checkout, home


def test_make_demo_exits_zero_and_says_where_everything_is(demo):
    proc, _, home = demo
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    for where in ("warehouse.duckdb", "bi/socialpulse.duckdb", "reports/latest.html", "airflow.db", "next"):
        assert where in out, f"the demo summary does not say {where!r}"
    assert "fct_follower_growth_daily" in out
    assert (home / "reports" / "latest.html").stat().st_size > 0


def test_every_registry_account_is_fetched_built_and_published(demo):
    proc, checkout, home = demo
    assert proc.returncode == 0, proc.stderr[-3000:]
    registry = yaml.safe_load((checkout / "config" / "accounts.yml").read_text(encoding="utf-8"))
    wanted = {(a["platform"], str(a["id"])) for a in registry["accounts"]}
    assert {p for p, _ in wanted} >= {"facebook", "instagram", "youtube"}
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        failed = con.execute("select platform, account_id, error_class from raw.account_runs "
                             "where status <> 'ok'").fetchall()
        fetched = set(con.execute("select platform, account_id from raw.account_runs where status = 'ok'").fetchall())
        in_marts = set(con.execute("select distinct platform, account_id from marts.fct_follower_growth_daily")
                       .fetchall())
    with duckdb.connect(str(home / "bi" / "socialpulse.duckdb"), read_only=True) as con:
        published = set(con.execute("select distinct platform, account_id from marts.fct_follower_growth_daily")
                        .fetchall())
    assert failed == []
    assert fetched == wanted
    assert in_marts == wanted
    assert published == wanted
    for platform in {p for p, _ in wanted}:
        n = sum(1 for p, _ in wanted if p == platform)
        assert f"{platform:<10} {n} of {n} accounts" in proc.stdout
