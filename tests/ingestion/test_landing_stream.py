"""The fetch lands a chunk while it runs (issue 21): same landing file, memory bounded, all or nothing."""

from __future__ import annotations

import json
import threading
import time
from datetime import date

import pytest

from ingestion.extract import landing
from ingestion.extract.executors import WINDOW_PER_WORKER, ordered_map
from ingestion.extract.fetch import fetch_chunk
from ingestion.extract.http import one_line_json
from ingestion.extract.plan import AccountPlan
from ingestion.load.loader import _body_json
from ingestion.sources import FetchContext

AS_OF = date(2026, 11, 19)
IG = [str(17841400000000000 + i) for i in range(1, 6)]


def _records(account: str, n: int) -> list[dict]:
    return [{"response_id": f"{account}-{i}", "account_id": account, "fetched_at": AS_OF, "body": {"i": i}}
            for i in range(n)]


@pytest.mark.parametrize("flush_bytes", [1, 300, 10**9])
def test_chunk_writer_lands_accounts_in_the_order_given_without_failed_ones(tmp_path, monkeypatch, flush_bytes):
    # GIVEN records of three accounts arriving interleaved, spooled after every line, every few
    # lines, or never before the commit
    monkeypatch.setattr(landing, "SPOOL_FLUSH_BYTES", flush_bytes)
    by_account = {a: _records(a, 7) for a in ("a", "b", "c")}
    writer = landing.ChunkWriter(tmp_path, "run", "facebook", "chunk-0000")
    for i in range(7):
        for account in ("c", "a", "b"):
            writer.add(account, by_account[account][i])
    # THEN nothing is visible to the loader before the commit
    assert not list((tmp_path / "run" / "facebook").glob("*.jsonl"))
    # WHEN account b failed and the others are committed in plan order
    landed = writer.commit(["a", "c"], [{"account_id": "a"}, {"account_id": "b"}, {"account_id": "c"}])
    writer.discard()
    # THEN the file is byte for byte what write_chunk writes for the same records, and no spool is left
    expected = landing.write_chunk(tmp_path, "expected", "facebook", "chunk-0000",
                                   by_account["a"] + by_account["c"], [])
    assert landed == 14
    assert writer.path.read_bytes() == expected.read_bytes()
    assert sorted(p.name for p in writer.folder.iterdir()) == ["chunk-0000.jsonl", "chunk-0000.status.json"]
    assert landing.read_statuses(tmp_path, "run", "facebook")[1] == {"account_id": "b"}


def test_a_discarded_chunk_lands_nothing(tmp_path):
    writer = landing.ChunkWriter(tmp_path, "run", "facebook", "chunk-0000")
    writer.add("a", _records("a", 1)[0])
    writer.discard()  # the fetch raised before its commit
    assert list(writer.folder.iterdir()) == []


def test_ordered_map_keeps_order_and_a_bounded_window():
    submitted, taken = [], []
    lock = threading.Lock()

    def work(i):
        with lock:
            submitted.append(i)
        time.sleep(0.001 * (i % 3))
        return i * i

    for result in ordered_map(work, range(200), workers=2):
        with lock:  # never more than the window ahead of the consumer
            assert len(submitted) - len(taken) <= 2 * WINDOW_PER_WORKER + 1
        taken.append(result)
    assert taken == [i * i for i in range(200)]


def test_streamed_fetch_lands_what_the_rounds_answered(pipeline_env, monkeypatch):
    # A spool flush after every record: the landing file is still one account after the other.
    monkeypatch.setattr(landing, "SPOOL_FLUSH_BYTES", 1)
    plans = [AccountPlan("instagram", i, None, date(2026, 11, 10), AS_OF) for i in IG]
    result = fetch_chunk(pipeline_env, "run-stream", "c0", plans, FetchContext(as_of=AS_OF))
    records = list(landing.read_records(pipeline_env.landing_dir, "run-stream", "instagram"))
    assert result.accounts_ok == 5 and result.responses == len(records) > 5 * 18
    order = [r["account_id"] for r in records]
    assert order == sorted(order, key=IG.index)  # grouped by account, in plan order
    assert not [p for p in (pipeline_env.landing_dir / "run-stream" / "instagram").iterdir() if "tmp" in p.name]


@pytest.mark.parametrize("text", [
    '{"data":[{"name":"page_follows","values":[{"value":3}]}],"paging":{"next":"x"}}',  # compact, as Meta sends
    '{"data": [], "body": {"nested": true}}',  # a key named body inside the body
])
def test_a_body_landed_as_received_is_the_same_json_and_what_the_loader_stores(text):
    # GIVEN a record whose body was decoded from `text`
    record = {"response_id": "r1", "account_id": "a", "fetched_at": AS_OF, "body": json.loads(text)}
    # WHEN it is landed with the text it came from
    line = landing.encode_record(record, one_line_json(text)).decode()
    # THEN the line is one JSON record equal to the encoded one, and the loader stores that JSON value
    assert line.count("\n") == 1 and line.endswith("\n")
    assert json.loads(line) == json.loads(landing.encode_record(record))
    assert json.loads(_body_json(line, json.loads(line))) == record["body"]


@pytest.mark.parametrize("text", ['{"a":\n1}', '{"a":\r\n1}', '{"caption":"Välkommen"}', None, 7])
def test_a_body_text_that_cannot_stand_on_one_ascii_line_is_encoded_again(text):
    assert one_line_json(text) is None


def test_a_record_without_the_body_last_is_encoded_whole():
    record = {"body": {"x": 1}, "account_id": "a"}
    assert landing.encode_record(record, '{"x":1}') == landing.encode_record(record)
    assert json.loads(landing.encode_record(record)) == record
