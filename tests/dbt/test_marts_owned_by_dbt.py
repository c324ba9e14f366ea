"""Every relation in schema `marts` is a dbt model (issue 18): Python code never creates one there.

The mart gate writes its findings to its own schema (`quality.data_quality_findings`, created with
the raw DDL) and dbt exposes them as the view `marts.fct_data_quality_findings`. A static check:
it reads the code, so it costs nothing and fails on the line that breaks the rule.
"""

from __future__ import annotations

import re
from pathlib import Path

from ingestion.gates import mart_gate
from ingestion.load import warehouse

REPO = Path(__file__).resolve().parents[2]
MARTS_DDL = re.compile(r"create\s+(?:or\s+replace\s+)?(?:temp\w*\s+)?(?:table|view)\s+(?:if\s+not\s+exists\s+)?"
                       r"[\"']?marts[\"']?\.", re.IGNORECASE)


def test_no_python_module_creates_a_relation_in_marts() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in sorted((REPO / "ingestion").rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if MARTS_DDL.search(line) or re.search(r"create\s+schema\s+if\s+not\s+exists\s+marts", line, re.I)
    ]
    assert offenders == []


def test_the_gate_findings_are_a_dbt_source_and_a_marts_model() -> None:
    schema, table = mart_gate.FINDINGS_TABLE.split(".")
    assert schema != "marts"
    assert any(f"{schema}.{table}" in ddl for ddl in warehouse.QUALITY_DDL)
    quality = REPO / "dbt_project" / "models" / "marts" / "quality"
    sources = (quality / "_quality__sources.yml").read_text(encoding="utf-8")
    assert f"schema: {schema}" in sources and f"name: {table}" in sources
    model = (quality / "fct_data_quality_findings.sql").read_text(encoding="utf-8")
    assert f"source('{schema}', '{table}')" in model and "materialized='view'" in model
