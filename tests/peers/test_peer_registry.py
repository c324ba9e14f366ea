"""The registry's `peers:` section is validated like the rest: one line per problem, with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingestion.core.registry import RegistryError, load_registry

REPO = Path(__file__).resolve().parents[2]

HEADER = """organisation:
  name: Test kommun
accounts:
  - {platform: facebook, id: "100000000000001", name: A, department: X}
peers:
"""


def _load(tmp_path: Path, body: str):
    path = tmp_path / "accounts.yml"
    path.write_text(HEADER + body, encoding="utf-8")
    return load_registry(path)


def _problems(tmp_path: Path, body: str) -> list[str]:
    with pytest.raises(RegistryError) as err:
        _load(tmp_path, body)
    lines = str(err.value).splitlines()
    assert lines[0] == "invalid registry:"
    return lines[1:]


def test_example_registry_has_three_peers_and_keeps_every_own_account():
    registry = load_registry(REPO / "config" / "accounts.yml")
    assert [p.name for p in registry.peers] == ["Västerby kommun", "Norrsala kommun", "Åby kommun"]
    assert all(p.population for p in registry.peers)
    assert {a.platform for p in registry.peers for a in p.accounts} == {"facebook", "instagram", "youtube"}
    assert len(registry.accounts) == 170  # the peers section adds no own account


def test_peers_are_optional(tmp_path):
    path = tmp_path / "accounts.yml"
    path.write_text(HEADER.replace("peers:\n", ""), encoding="utf-8")
    assert load_registry(path).peers == ()


def test_a_valid_peer_keeps_its_fields(tmp_path):
    registry = _load(tmp_path, """  - name: Grannby kommun
    population: 30000
    group: county
    accounts:
      - {platform: instagram, username: grannby}
      - {platform: facebook, id: 300000000000009}
      - {platform: youtube, id: UCpeer000000000000000001}
      - {platform: youtube, handle: "@grannby", department: Kultur}
""")
    peer = registry.peers[0]
    assert (peer.name, peer.population, peer.group) == ("Grannby kommun", 30000, "county")
    assert [a.ref for a in peer.accounts] == ["grannby", "300000000000009", "UCpeer000000000000000001", "@grannby"]
    assert peer.accounts[3].department == "Kultur"


def test_each_malformed_peer_account_is_one_line_with_its_line_number(tmp_path):
    problems = _problems(tmp_path, """  - name: Grannby kommun
    accounts:
      - {platform: instagram, id: "17841400000000001"}
      - {platform: instagram, username: "has space"}
      - {platform: facebook, username: grannby}
      - {platform: youtube, handle: grannby}
      - {platform: youtube, id: UC1, handle: "@x"}
      - {platform: snapchat, id: "x"}
""")
    assert len(problems) == 6
    assert problems[0].endswith("line 8: peers.0.accounts.0: Value error, an instagram peer account needs "
                                "`username` (and no id/handle)")
    assert "line 9: peers.0.accounts.1" in problems[1] and "malformed instagram username 'has space'" in problems[1]
    assert "line 10: peers.0.accounts.2" in problems[2] and "needs the Page `id`" in problems[2]
    assert "line 11: peers.0.accounts.3" in problems[3] and "malformed youtube handle 'grannby'" in problems[3]
    assert "line 12: peers.0.accounts.4" in problems[4] and "exactly one of `id`" in problems[4]
    assert "line 13: peers.0.accounts.5.platform" in problems[5]


def test_missing_name_and_bad_population_name_their_lines(tmp_path):
    problems = _problems(tmp_path, """  - population: -5
    accounts: []
""")
    assert any("line 6: peers.0.name: Field required" in p for p in problems)
    assert any("line 6: peers.0.population" in p and "greater than 0" in p for p in problems)
    assert any("line 7: peers.0.accounts" in p for p in problems)


def test_duplicates_and_own_accounts_are_refused(tmp_path):
    problems = _problems(tmp_path, """  - name: Grannby kommun
    accounts:
      - {platform: instagram, username: Grannby}
      - {platform: facebook, id: "100000000000001"}
  - name: grannby kommun
    accounts:
      - {platform: instagram, username: grannby}
""")
    where = tmp_path / "accounts.yml"
    assert problems == [
        f"{where} line 9: peer account facebook:100000000000001 is one of the organisation's own accounts",
        f"{where} line 10: duplicate peer 'grannby kommun' (first at line 6)",
        f"{where} line 12: duplicate peer account instagram:grannby (first at line 8)",
    ]
