"""The registry is validated completely, with line numbers, before any API call."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ingestion.core.registry import RegistryError, load_registry

REPO = Path(__file__).resolve().parents[2]

HEADER = """organisation:
  name: Test kommun
  population: 1000
accounts:
"""


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "accounts.yml"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_demo_registry_is_valid_and_pairs_facebook_with_instagram():
    registry = load_registry(REPO / "config" / "accounts.yml")
    fb, ig = registry.for_platform("facebook"), registry.for_platform("instagram")
    assert len(fb) >= 5 and len(ig) >= 5
    for page in fb:
        platform, _, linked_id = page.linked.partition(":")
        assert registry.get(platform, linked_id).linked == f"facebook:{page.id}"


def test_duplicate_account_is_rejected_with_both_lines(tmp_path):
    path = _write(tmp_path, """  - {platform: facebook, id: "100000000000001", name: A, department: X}
  - {platform: facebook, id: "100000000000001", name: B, department: Y}
""")
    with pytest.raises(RegistryError) as err:
        load_registry(path)
    assert "line 6: duplicate account facebook:100000000000001 (first at line 5)" in str(err.value)


def test_unknown_platform_and_malformed_id_name_their_lines(tmp_path):
    path = _write(tmp_path, """  - {platform: facebook, id: "100000000000001", name: A, department: X}
  - {platform: myspace, id: "1", name: B, department: Y}
  - {platform: instagram, id: "not-a-number", name: C, department: Z}
""")
    with pytest.raises(RegistryError) as err:
        load_registry(path)
    message = str(err.value)
    assert "line 6: accounts.1.platform" in message
    assert "line 7: accounts.2" in message and "malformed instagram id 'not-a-number'" in message


def test_token_value_in_token_env_is_refused(tmp_path):
    path = _write(tmp_path, """  - platform: facebook
    id: "100000000000001"
    name: A
    department: X
    token_env: EAAB1234abcd
""")
    with pytest.raises(RegistryError, match="token_env must name an environment variable"):
        load_registry(path)


def test_broken_yaml_reports_line(tmp_path):
    path = _write(tmp_path, "  - {platform: facebook, id: [unclosed\n")
    with pytest.raises(RegistryError, match=r"line \d+: not valid YAML"):
        load_registry(path)


def test_link_to_unregistered_account_is_rejected(tmp_path):
    path = _write(tmp_path, """  - {platform: facebook, id: "100000000000001", name: A, department: X,
     linked: "instagram:17841400000000099"}
""")
    with pytest.raises(RegistryError, match="linked account instagram:17841400000000099 is not registered"):
        load_registry(path)


def _count_parses(monkeypatch, loader_cls) -> list[int]:
    """Count documents composed by a PyYAML loader class (a spy on the library, not on our code)."""
    calls = [0]
    original = loader_cls.get_single_node

    def counted(self):
        calls[0] += 1
        return original(self)

    monkeypatch.setattr(loader_cls, "get_single_node", counted)
    return calls


def test_registry_is_parsed_once_with_libyaml(monkeypatch):
    c_calls = _count_parses(monkeypatch, yaml.CSafeLoader)
    py_calls = _count_parses(monkeypatch, yaml.SafeLoader)
    py_compose = [0]
    original_compose = yaml.composer.Composer.compose_node

    def compose_node(self, parent, index):
        py_compose[0] += 1
        return original_compose(self, parent, index)

    monkeypatch.setattr(yaml.composer.Composer, "compose_node", compose_node)
    registry = load_registry(REPO / "config" / "accounts.yml")
    assert len(registry.accounts) > 100
    assert c_calls == [1] and py_calls == [0] and py_compose == [0]


def test_line_numbers_without_libyaml(tmp_path, monkeypatch):
    # PyYAML without its C extension: the pure-Python loader, same line-precise messages.
    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    py_calls = _count_parses(monkeypatch, yaml.SafeLoader)
    path = _write(tmp_path, """  - {platform: facebook, id: "100000000000001", name: A, department: X}
  - {platform: myspace, id: "1", name: B, department: Y}
  - {platform: facebook, id: "100000000000001", name: C, department: Z}
""")
    with pytest.raises(RegistryError) as err:
        load_registry(path)
    assert "line 6: accounts.1.platform" in str(err.value)
    assert py_calls == [1]
    broken = _write(tmp_path, "  - {platform: facebook, id: [unclosed\n")
    with pytest.raises(RegistryError, match=r"line \d+: not valid YAML"):
        load_registry(broken)


def test_libyaml_and_pure_loader_agree_on_the_demo_registry(monkeypatch):
    fast = load_registry(REPO / "config" / "accounts.yml")
    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    assert load_registry(REPO / "config" / "accounts.yml") == fast
