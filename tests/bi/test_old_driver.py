"""The published copy opens with DuckDB 1.5.x, as bundled by BI drivers (Metabase's DuckDB driver,
older duckdb-engine builds): a separate small virtualenv with duckdb 1.5.* from the package index."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingestion.publish import bi_copy as publish

PROBE = r"""
import json, sys, duckdb
path, parquet = sys.argv[1], sys.argv[2]
con = duckdb.connect(path, read_only=True)
pid = con.execute("select publish_id from publish_log order by published_at desc, publish_id desc "
                  "limit 1").fetchall()[0][0]
log = dict(con.execute("select table_name, row_count from publish_log where publish_id = ?", [pid]).fetchall())
tables = {t: con.execute(f'select count(*) from marts."{t}"').fetchall()[0][0]
          for (t,) in con.execute("select table_name from duckdb_tables() where schema_name = 'marts'").fetchall()}
sample = con.execute("select platform, account_id, metric_date::varchar, followers, is_estimated "
                     "from marts.fct_follower_growth_daily order by all limit 1").fetchall()[0]
pq = {t: duckdb.sql(f"select count(*) from read_parquet('{parquet}/{t}.parquet')").fetchall()[0][0] for t in tables}
print(json.dumps({"version": duckdb.__version__, "log": log, "tables": tables, "parquet": pq, "sample": list(sample)}))
"""


@pytest.fixture(scope="session")
def duckdb15_python(session_dir) -> Path:
    """A venv with duckdb 1.5.x, created once per test session (or reused from $SOCIALPULSE_DUCKDB15_VENV)."""
    venv = Path(os.environ.get("SOCIALPULSE_DUCKDB15_VENV") or session_dir / "duckdb15-venv")
    python = venv / "bin" / "python"
    check = [str(python), "-c", "import duckdb, sys; sys.exit(0 if duckdb.__version__.startswith('1.5.') else 1)"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, capture_output=True)
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "duckdb==1.5.*"],
        capture_output=True, text=True, timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    subprocess.run(check, check=True)
    return python


def test_published_copy_opens_with_duckdb_15(bi_settings, duckdb15_python):
    result = publish.publish(bi_settings)
    out = subprocess.run(
        [str(duckdb15_python), "-c", PROBE, result.path, str(bi_settings.bi_dir / "parquet")],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout)
    assert seen["version"].startswith("1.5.")
    assert seen["tables"] == seen["log"] == seen["parquet"] == result.tables
    assert seen["sample"][0] in {"facebook", "instagram"}


def test_a_plain_duckdb_2_file_does_not_open_with_15(bi_settings, duckdb15_python, tmp_path):
    """The control: without STORAGE_VERSION 'v1.5.0' the 1.5 reader refuses the file, so the test above
    proves the publish setting, not a lenient reader."""
    import duckdb

    plain = tmp_path / "plain.duckdb"
    con = duckdb.connect(str(plain))
    con.execute("create table t as select 1 as x")
    con.close()
    out = subprocess.run([str(duckdb15_python), "-c", f"import duckdb; duckdb.connect({str(plain)!r}, read_only=True)"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
