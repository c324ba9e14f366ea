"""Meta token lifecycle against the sandbox: debug_token, the long-lived exchange, Page tokens."""

from __future__ import annotations

import stat

import pytest

from ingestion.core.settings import load_settings
from ingestion.extract.http import ApiError, ErrorClass
from ingestion.onboarding import tokens as T
from ingestion.onboarding.cli import main as cli
from ingestion.onboarding.graph import make_client
from ingestion.onboarding.secret_files import SecretFileError, update_env_file
from sandbox import data as sandbox_data
from tests.conftest import REPO, SANDBOX_NOW
from tests.onboarding.conftest import PAGES


@pytest.fixture
def client(onboarding_env):
    client = make_client(load_settings())
    yield client
    client.close()


def test_debug_token_of_a_system_user_token(client):
    info = T.inspect_token(client, load_settings(), "sandbox-system-user-token")
    assert info.is_valid and info.type == "SYSTEM_USER"
    assert info.expires_at is None and info.data_access_expires_at is None  # 0 = never
    assert "read_insights" in info.scopes


def test_debug_token_of_an_expired_token_is_invalid_not_an_exception(client):
    info = T.inspect_token(client, load_settings(), "expired-token")
    assert not info.is_valid and (info.error_code, info.error_subcode) == (190, 463)


def test_exchange_then_page_tokens(client):
    settings = load_settings()
    long_lived = T.exchange_long_lived(client, settings, "1122334455667788", "app-secret", "shortlived-user-token")
    assert long_lived.token != "shortlived-user-token"
    assert 50 * 86400 < long_lived.expires_in_s <= 60 * 86400
    info = T.inspect_token(client, settings, long_lived.token)
    assert info.is_valid and info.expires_at is not None
    pages = T.page_tokens(client, settings, long_lived.token)
    assert [p.page_id for p in pages] == [sandbox_data.facebook_page_id(i) for i in range(1, PAGES + 1)]
    assert all(p.token and long_lived.token not in p.token for p in pages)
    assert T.inspect_token(client, settings, pages[0].token).type == "PAGE"
    assert "token" not in repr(pages[0]).replace("PageToken", "")


def test_exchange_of_an_expired_short_token_fails_as_auth(client):
    with pytest.raises(ApiError) as caught:
        T.exchange_long_lived(client, load_settings(), "1122334455667788", "app-secret", "expired-user-token")
    assert caught.value.error_class is ErrorClass.AUTH


def test_cli_exchange_stores_tokens_privately_and_prints_none(onboarding_env, monkeypatch, capsys):
    monkeypatch.setenv("SHORT_TOKEN", "shortlived-user-token-42")
    monkeypatch.setenv("APP_SECRET", "app-secret-value")
    env_file = onboarding_env / "secrets" / "meta.env"
    code = cli(["token", "exchange", "--app-id", "1122334455667788", "--app-secret-env", "APP_SECRET",
                "--token-env", "SHORT_TOKEN", "--env-file", str(env_file)])
    out = capsys.readouterr().out
    assert code == 0
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines() if "=" in line
                  and not line.startswith("#"))
    assert set(values) == {"SOCIALPULSE_META_TOKEN"} | {
        f"SOCIALPULSE_PAGE_TOKEN_{sandbox_data.facebook_page_id(i)}" for i in range(1, PAGES + 1)}
    for secret in [*values.values(), "shortlived-user-token-42", "app-secret-value"]:
        assert secret not in out
    assert "expires in 59 days" in out and "tokens not printed" in out
    # --show prints them
    assert cli(["token", "exchange", "--app-id", "1", "--app-secret-env", "APP_SECRET", "--token-env",
                "SHORT_TOKEN", "--env-file", str(env_file), "--show", "--no-pages"]) == 0
    assert "SOCIALPULSE_META_TOKEN=longlived-" in capsys.readouterr().out


def test_cli_exchange_reports_missing_inputs(onboarding_env, monkeypatch, capsys):
    monkeypatch.delenv("SOCIALPULSE_META_APP_ID", raising=False)
    assert cli(["token", "exchange", "--token-env", "NOPE_TOKEN", "--app-secret-env", "NOPE_SECRET"]) == 2
    err = capsys.readouterr().err
    assert "--app-id" in err and "NOPE_SECRET is not set" in err and "NOPE_TOKEN is not set" in err


def test_cli_exchange_of_expired_token_fails_cleanly(onboarding_env, monkeypatch, capsys):
    monkeypatch.setenv("SHORT_TOKEN", "expired-user-token-77")
    monkeypatch.setenv("APP_SECRET", "app-secret-value")
    assert cli(["token", "exchange", "--app-id", "1", "--app-secret-env", "APP_SECRET", "--token-env",
                "SHORT_TOKEN", "--env-file", str(onboarding_env / "m.env")]) == 1
    captured = capsys.readouterr()
    assert "(190/463)" in captured.err and "expired-user-token-77" not in captured.err + captured.out


def test_env_file_keeps_other_lines_and_refuses_the_repository(tmp_path):
    path = tmp_path / "meta.env"
    path.write_text("# mine\nOTHER=1\nSOCIALPULSE_META_TOKEN=old\n")
    update_env_file(path, {"SOCIALPULSE_META_TOKEN": "new", "SOCIALPULSE_PAGE_TOKEN_1": "p"})
    assert path.read_text() == "# mine\nOTHER=1\nSOCIALPULSE_META_TOKEN=new\nSOCIALPULSE_PAGE_TOKEN_1=p\n"
    with pytest.raises(SecretFileError, match="inside the project"):
        update_env_file(REPO / "meta.env", {"A": "b"})
    assert not (REPO / "meta.env").exists()


def test_evaluate_handles_never_expiring_and_app_not_authorised():
    info = T.TokenInfo(is_valid=False, error_code=190, error_subcode=458, error_message="not authorized")
    [finding] = T.evaluate_meta_token("X", info, {"facebook"}, now=SANDBOX_NOW, warn_days=14)
    assert "190/458" in finding.problem and "Tilldela tillgångar" in finding.fix
    page = T.TokenInfo(is_valid=True, type="PAGE", scopes=("pages_read_engagement", "read_insights",
                                                           "pages_show_list"))
    assert T.evaluate_meta_token("X", page, {"facebook"}, now=SANDBOX_NOW, warn_days=14) == []
