"""bench.dbt_floor reads the SQL a build sent out of dbt's debug log and replays it (issue 21)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from bench.dbt_floor import kind, replay, statements

LOG = """\
05:09:32.938294 [debug] [Thread-1 (]: Began running node model.p.a
05:09:32.952110 [debug] [Thread-1 (]: On model.p.a: BEGIN
05:09:32.969736 [debug] [Thread-1 (]: SQL status: OK in 0.016 seconds
05:09:32.974747 [debug] [Thread-1 (]: On model.p.a: /* {"app": "dbt", "node_id": "model.p.a"} */

    create table "warehouse"."main"."a" as (
      select 1 as x
      union all select 2
    );
05:09:32.990843 [debug] [Thread-1 (]: SQL status: OK in 0.016 seconds
05:09:32.991000 [debug] [Thread-2 (]: On test.p.t: /* {"app": "dbt"} */
select count(*) as failures, count(*) != 0 as should_warn from "warehouse"."main"."a" where x > 5
05:09:32.992000 [debug] [Thread-1 (]: On model.p.a: COMMIT
05:09:32.993000 [debug] [Thread-1 (]: On model.p.a: Close
"""


def test_statements_are_grouped_per_node_in_order_with_their_whole_multiline_text(tmp_path: Path):
    log = tmp_path / "dbt.log"
    log.write_text(LOG, encoding="utf-8")
    per_node = statements(log)
    assert list(per_node) == ["model.p.a", "test.p.t"]
    assert [kind(s) for s in per_node["model.p.a"]] == ["begin", "create table", "commit", "close"]
    assert "union all select 2" in per_node["model.p.a"][1]
    assert kind(per_node["test.p.t"][0]) == "data test"


def test_replay_runs_every_statement_on_the_warehouse_and_counts_them(tmp_path: Path):
    log = tmp_path / "dbt.log"
    log.write_text(LOG, encoding="utf-8")
    home = tmp_path / "home"
    home.mkdir()
    duckdb.connect(str(home / "warehouse.duckdb")).close()
    result = replay(statements(log), home, threads=1)
    assert result["errors"] == 0
    assert result["statements"] == 4  # begin, create, commit, the test; Close is not SQL
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    assert con.execute("select sum(x) from main.a").fetchone() == (3,)
