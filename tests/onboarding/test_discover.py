"""`socialpulse accounts discover` against the sandbox: complete, valid, idempotent, edit-preserving."""

from __future__ import annotations

import difflib
import shutil
from pathlib import Path

import pytest

from ingestion.core.registry import load_registry
from ingestion.core.settings import load_settings
from ingestion.onboarding import discover as D
from ingestion.onboarding.cli import main as cli
from sandbox import data as sandbox_data
from tests.conftest import REPO
from tests.onboarding.conftest import PAGES


def _discover(**kwargs):
    return D.run_discover(load_settings(), today="2026-11-20", **kwargs)


def _new_registry(**kwargs):
    return _discover(organisation="Sandviks kommun", population=39000, **kwargs)


def test_discovery_registers_every_page_instagram_account_and_owned_channel(onboarding_env):
    # GIVEN a token that can read the sandbox's 10 Pages (each with a linked Instagram account)
    # WHEN discover creates the registry
    outcome = _new_registry()
    # THEN load_registry accepts it and it lists every Page and IG account, linked both ways
    registry = load_registry(onboarding_env / "accounts.yml")
    pages = {sandbox_data.facebook_page_id(i) for i in range(1, PAGES + 1)}
    igs = {sandbox_data.instagram_user_id(i) for i in range(1, PAGES + 1)}
    assert {a.id for a in registry.for_platform("facebook")} == pages
    assert {a.id for a in registry.for_platform("instagram")} == igs
    for i in range(1, PAGES + 1):
        fb = registry.get("facebook", sandbox_data.facebook_page_id(i))
        ig = registry.get("instagram", sandbox_data.instagram_user_id(i))
        assert fb.linked == f"instagram:{ig.id}" and ig.linked == f"facebook:{fb.id}"
        expected = sandbox_data.account_identity(42, i)
        assert fb.name == expected["name"]
        assert fb.department == ig.department == expected["department"]  # guessed from the name
    # the YouTube token owns channel 1 (mine=true)
    assert [a.id for a in registry.for_platform("youtube")] == [sandbox_data.youtube_channel_id(1)]
    text = (onboarding_env / "accounts.yml").read_text(encoding="utf-8")
    assert text.count(f"# {D.REVIEW_COMMENT}") == len(registry.accounts) == 2 * PAGES + 1
    assert outcome.written and len(outcome.merge.added) == 2 * PAGES + 1
    assert GOOD_TOKEN_NOT_IN(text)


def GOOD_TOKEN_NOT_IN(text: str) -> bool:  # noqa: N802 - reads as a sentence in the assertion
    from tests.onboarding.conftest import GOOD_TOKEN, YOUTUBE_TOKEN

    return GOOD_TOKEN not in text and YOUTUBE_TOKEN not in text and "access_token" not in text


def test_discovery_follows_cursor_paging(onboarding_env, monkeypatch):
    # GIVEN /me/accounts pages of 3 (10 Pages -> 4 pages)
    monkeypatch.setattr("ingestion.onboarding.graph.PAGE_SIZE", 3)
    # WHEN discovering
    _new_registry(youtube=False)
    # THEN no Page is lost between pages
    registry = load_registry(onboarding_env / "accounts.yml")
    assert len(registry.for_platform("facebook")) == PAGES


def test_discovered_registry_is_planned_completely_by_the_nightly_run(onboarding_env):
    from datetime import date

    from ingestion.extract.plan import plan_nightly

    _new_registry()
    registry = load_registry(onboarding_env / "accounts.yml")
    plans = plan_nightly(registry, date(2026, 11, 19), 3)
    assert {(p.platform, p.account_id) for p in plans} == {a.key for a in registry.accounts}


def test_discovered_registry_loads_completely_in_a_nightly_ingest(onboarding_env, monkeypatch):
    """Acceptance: the nightly run loads every discovered account (short window to stay quick)."""
    from datetime import date

    from ingestion.pipeline import chain as pipeline

    monkeypatch.setenv("SOCIALPULSE_LOOKBACK_DAYS", "2")
    _new_registry()
    report = pipeline.run_ingest(load_settings(), date(2026, 11, 19))
    assert report.failed_accounts == []
    loaded = {(item["platform"], account) for item in report.loads for account in item["accounts_loaded"]}
    registry = load_registry(onboarding_env / "accounts.yml")
    assert loaded == {a.key for a in registry.accounts}


def test_second_discover_keeps_hand_edits_and_comments_and_adds_only_new_accounts(onboarding_env, yt_sandbox):
    # GIVEN a discovered registry that a person then edited by hand
    _new_registry()
    path = onboarding_env / "accounts.yml"
    text = path.read_text(encoding="utf-8")
    first_fb = sandbox_data.facebook_page_id(1)
    edited = text.replace(
        "organisation:\n", "# Ägare: kommunikationsavdelningen (hand comment)\norganisation:\n", 1
    ).replace(
        f'  - platform: facebook\n    id: "{first_fb}"\n',
        f'  - platform: facebook\n    id: "{first_fb}"  # huvudsidan\n    audience: [all, parents]\n', 1,
    )
    edited = edited.replace(f'"Bibliotek"  # {D.REVIEW_COMMENT}', '"Kultur och fritid"', 1)
    assert edited != text
    path.write_text(edited, encoding="utf-8")
    load_registry(path)  # still valid
    # WHEN the token can read two more Pages and discover runs again
    yt_sandbox.app.config.accounts = PAGES + 2
    outcome = _discover()
    # THEN only the 2 new Pages and their IG accounts are added; nothing of the edited text changes
    new_text = path.read_text(encoding="utf-8")
    assert len(outcome.merge.added) == 4 and outcome.merge.already == 2 * PAGES + 1
    removed = [line for line in difflib.unified_diff(edited.splitlines(), new_text.splitlines(), lineterm="")
               if line.startswith("-") and not line.startswith("---")]
    assert removed == []
    assert "# huvudsidan" in new_text and "# Ägare: kommunikationsavdelningen" in new_text
    assert '"Kultur och fritid"' in new_text and "audience: [all, parents]" in new_text
    registry = load_registry(path)
    assert len(registry.for_platform("facebook")) == PAGES + 2
    assert len({a.key for a in registry.accounts}) == len(registry.accounts)


def test_discover_twice_changes_nothing(onboarding_env):
    _new_registry()
    path = onboarding_env / "accounts.yml"
    before = path.read_bytes()
    outcome = _discover()
    assert not outcome.written and outcome.merge.added == []
    assert path.read_bytes() == before


def test_dry_run_on_an_up_to_date_registry_prints_no_changes(onboarding_env, capsys):
    shutil.copy(REPO / "config" / "accounts.yml", onboarding_env / "accounts.yml")
    before = (onboarding_env / "accounts.yml").read_bytes()
    # The demo registry holds sandbox Pages 1..80 under the same ids: nothing new for Meta, and
    # YouTube is left out (the demo channel ids may change).
    assert cli(["accounts", "discover", "--dry-run", "--no-youtube"]) == 0
    out = capsys.readouterr().out
    assert "no changes" in out
    assert (onboarding_env / "accounts.yml").read_bytes() == before


def test_dry_run_diff_shows_the_proposed_entries(onboarding_env, capsys):
    path = onboarding_env / "accounts.yml"
    path.write_text(
        "organisation:\n  name: Sandviks kommun\n  population: 39000\naccounts:\n"
        "  - platform: facebook\n    id: \"100000000000001\"\n    name: Biblioteket\n    department: Bibliotek\n",
        encoding="utf-8",
    )
    before = path.read_bytes()
    assert cli(["accounts", "discover", "--dry-run", "--no-youtube"]) == 0
    out = capsys.readouterr().out
    assert f"--- a/{path}" in out and f"+++ b/{path}" in out
    assert f'+    id: "{sandbox_data.instagram_user_id(1)}"' in out
    assert f'+    id: "{sandbox_data.facebook_page_id(1)}"' not in out  # already registered
    assert f"# {D.REVIEW_COMMENT}" in out
    assert path.read_bytes() == before


def test_demo_registry_round_trips_byte_for_byte():
    text = (REPO / "config" / "accounts.yml").read_text(encoding="utf-8")
    registry = load_registry(REPO / "config" / "accounts.yml")
    again = [D.Discovered(a.platform, a.id, a.name, a.linked) for a in registry.accounts]
    result = D.merge_accounts(text, again)
    assert result.new_text == text and result.added == [] and result.already == len(registry.accounts)


def test_unquoted_numeric_ids_are_recognised_as_registered():
    text = ("organisation:\n  name: X\n  population: 10\naccounts:\n"
            "- platform: facebook\n  id: 100000000000001\n  name: A\n  department: B\n")
    result = D.merge_accounts(text, [D.Discovered("facebook", "100000000000001", "A")])
    assert result.added == [] and result.new_text == text


def test_merge_into_an_empty_flow_list_writes_block_style(tmp_path):
    text = "organisation:\n  name: X\n  population: 10\naccounts: []\n"
    result = D.merge_accounts(text, [D.Discovered("facebook", "100000000000001", "Kulturhuset")], today="2026-11-20")
    assert "accounts: []" not in result.new_text
    assert '  - platform: facebook\n    id: "100000000000001"' in result.new_text
    path = tmp_path / "a.yml"
    path.write_text(result.new_text, encoding="utf-8")
    assert load_registry(path).accounts[0].department == "Kultur"


def test_new_registry_needs_organisation_and_population(onboarding_env):
    from ingestion.core.registry import RegistryError

    with pytest.raises(RegistryError, match="--organisation"):
        _discover()
    assert not (onboarding_env / "accounts.yml").exists()


def test_a_registry_path_inside_a_missing_folder_is_created(onboarding_env):
    path = onboarding_env / "conf" / "accounts.yml"
    _new_registry(registry_path=path, youtube=False)
    assert len(load_registry(path).accounts) == 2 * PAGES


@pytest.mark.parametrize(("name", "known", "expected"), [
    ("Kultur – Teatern 5", (), "Kultur"),
    ("Stadsbiblioteket Sandviken", (), "Bibliotek"),
    ("Fritidsgården Ungbo", (), "Ungdom"),
    ("Hemtjänsten i Sandviken (Instagram)", (), "Äldreomsorg"),
    ("Samhällsbyggnad: Detaljplaner", ("Samhällsbyggnad",), "Samhällsbyggnad"),
    ("Nyheter från samhällsbyggnad", ("Samhällsbyggnad",), "Samhällsbyggnad"),
    ("Skolan i byn", ("Utbildning",), "Skola"),
    ("Turism – Besök Sandviken", (), "Turism"),
    ("Sandviken Energi", (), D.UNKNOWN_DEPARTMENT),
])
def test_department_guess(name, known, expected):
    assert D.guess_department(name, known) == expected


def test_guess_prefers_an_existing_department_spelling():
    assert D.guess_department("Biblioteket Väst", ("bibliotek",)) == "bibliotek"


def test_cli_reports_what_it_did(onboarding_env, capsys):
    assert cli(["accounts", "discover", "--organisation", "Sandviks kommun", "--population", "39000"]) == 0
    out = capsys.readouterr().out
    assert f"found {PAGES} Facebook Pages, {PAGES} Instagram accounts, 1 YouTube channels" in out
    assert f"wrote {onboarding_env / 'accounts.yml'}" in out
    assert Path(onboarding_env / "accounts.yml").exists()


ODD = """\
accounts:
-   platform: facebook      # aligned by hand
    id:   "100000000000001"
    name: "Kulturhuset"
    department:   Kultur

# the organisation comes last in this file
organisation:
   name: Sandviks kommun
   population: 39000
"""


def test_unusual_formatting_is_kept_byte_for_byte_and_entries_go_into_the_accounts_block(tmp_path):
    # GIVEN hand formatting that no ruamel indentation setting reproduces
    result = D.merge_accounts(ODD, [D.Discovered("facebook", "100000000000001", "Kulturhuset"),
                                    D.Discovered("instagram", "17841400000000001", "Kulturhuset (Instagram)",
                                                 linked="facebook:100000000000001")], today="2026-11-20")
    # THEN every original line is still there, in order, and only lines were added
    diff = list(difflib.unified_diff(ODD.splitlines(), result.new_text.splitlines(), lineterm=""))
    assert not [line for line in diff if line.startswith("-") and not line.startswith("---")]
    assert result.new_text.index('id: "17841400000000001"') < result.new_text.index("organisation:")
    path = tmp_path / "odd.yml"
    path.write_text(result.new_text, encoding="utf-8")
    registry = load_registry(path)
    assert [a.key for a in registry.accounts] == [("facebook", "100000000000001"), ("instagram", "17841400000000001")]
    assert registry.accounts[1].department == "Kultur"  # taken from the registered spelling
