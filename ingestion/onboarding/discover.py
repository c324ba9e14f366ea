"""`socialpulse accounts discover`: find every account the credentials can read and merge proposed
entries into the registry file without losing hand edits or comments.

Sources:
- Meta: `/me/accounts?fields=id,name,instagram_business_account{id,username,name}` with cursor
  paging -> each Facebook Page and its linked Instagram professional account. `/me/accounts` can
  omit Pages owned by a Business portfolio unless the token has `business_management`
  (PLATFORM_APIS.md §2.1), so Page ids listed in the token's `granular_scopes` are read by id too.
- YouTube: `channels?part=snippet&mine=true` for each credential in the YouTube secrets file
  (`socialpulse youtube authorize`) and for `SOCIALPULSE_YOUTUBE_TOKEN` when set.

Merging uses ruamel.yaml's round trip: comments, quoting, key order and hand-edited values of the
existing file are kept byte for byte; accounts already registered (same platform and id) are never
added again; new entries go at the end of `accounts:` under a dated comment, each with a department
guessed from its name and marked `# review: department guessed`. The merged file is validated with
`load_registry` before it replaces the old one (atomically).
"""

from __future__ import annotations

import difflib
import io
import os
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML, YAMLError
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from ingestion.core.registry import RegistryError, load_registry
from ingestion.core.settings import Settings
from ingestion.extract.http import ApiError, HttpClient
from ingestion.onboarding import youtube_oauth
from ingestion.onboarding.graph import get, get_all
from ingestion.onboarding.tokens import inspect_token
from ingestion.sources import google_oauth

REVIEW_COMMENT = "review: department guessed"
UNKNOWN_DEPARTMENT = "Okänd"
PAGE_FIELDS = "id,name,instagram_business_account{id,username,name}"

# Swedish municipal vocabulary -> department, most specific first (a name like "Fritidsgården"
# must hit Ungdom before "fritid" hits Fritid). Only a first guess: every guess is marked for review.
DEPARTMENT_KEYWORDS: tuple[tuple[str, str], ...] = (
    ("bibliotek", "Bibliotek"), ("bokbuss", "Bibliotek"),
    ("fritidsgård", "Ungdom"), ("ungdom", "Ungdom"), ("sommarlov", "Ungdom"), ("unga ", "Ungdom"),
    ("förskola", "Skola"), ("grundskola", "Skola"), ("gymnasi", "Skola"), ("vuxenutbildning", "Skola"),
    ("skola", "Skola"), ("utbildning", "Skola"),
    ("kulturskola", "Kultur"), ("kultur", "Kultur"), ("konsthall", "Kultur"), ("teater", "Kultur"),
    ("museum", "Kultur"), ("konserthus", "Kultur"),
    ("badhus", "Fritid"), ("simhall", "Fritid"), ("sporthall", "Fritid"), ("ishall", "Fritid"),
    ("idrott", "Fritid"), ("friluft", "Fritid"), ("fritid", "Fritid"),
    ("äldre", "Äldreomsorg"), ("hemtjänst", "Äldreomsorg"), ("träffpunkt", "Äldreomsorg"), ("omsorg", "Äldreomsorg"),
    ("miljö", "Miljö"), ("park", "Miljö"), ("återvinning", "Miljö"), ("klimat", "Miljö"),
    ("räddningstjänst", "Räddningstjänsten"),
    ("krisinformation", "Kommunstyrelsen"), ("näringsliv", "Kommunstyrelsen"), ("kommunikation", "Kommunstyrelsen"),
    ("kommun", "Kommunstyrelsen"),
)
_SEPARATORS = re.compile(r"\s+[–—|:-]\s+|:\s+")
_SUFFIX = re.compile(r"\s*\((instagram|youtube|facebook)\)\s*$", re.IGNORECASE)


def guess_department(name: str, known: Iterable[str] = ()) -> str:
    """A department for an account name: a known department it starts with or mentions, else a
    keyword match, else the part before a separator ("Kultur – Teatern"), else "Okänd"."""
    base = _SUFFIX.sub("", name).strip()
    lower = f" {base.lower()} "
    known_by_lower = {k.lower(): k for k in known if k}
    prefix = _SEPARATORS.split(base, maxsplit=1)[0].strip() if _SEPARATORS.search(base) else ""
    if prefix and prefix.lower() in known_by_lower:
        return known_by_lower[prefix.lower()]
    for k in sorted(known_by_lower, key=len, reverse=True):
        if re.search(rf"(?<!\w){re.escape(k)}", lower):
            return known_by_lower[k]
    for keyword, department in DEPARTMENT_KEYWORDS:
        if keyword in lower:
            return known_by_lower.get(department.lower(), department)
    return prefix or UNKNOWN_DEPARTMENT


@dataclass(frozen=True)
class Discovered:
    """One account the credentials can read."""

    platform: str
    id: str
    name: str
    linked: str | None = None  # "platform:id"
    department_hint: str | None = None  # e.g. an Instagram account takes its Page's guess

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.id)


@dataclass
class Discovery:
    """Everything found, plus notes for the user (never secrets)."""

    accounts: list[Discovered] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    searched: set[str] = field(default_factory=set)  # platforms whose listing succeeded

    def extend(self, other: Discovery) -> None:
        """Add another source's findings."""
        self.accounts += other.accounts
        self.notes += other.notes
        self.searched |= other.searched

    def count(self, platform: str) -> int:
        return sum(1 for a in self.accounts if a.platform == platform)


def _page_accounts(page: dict[str, Any]) -> list[Discovered]:
    page_id, name = str(page["id"]), str(page.get("name") or page["id"])
    ig = page.get("instagram_business_account")
    out = [Discovered("facebook", page_id, name)]
    if isinstance(ig, dict) and ig.get("id"):
        ig_id = str(ig["id"])
        ig_name = str(ig.get("name") or name)
        out[0] = Discovered("facebook", page_id, name, linked=f"instagram:{ig_id}")
        out.append(Discovered("instagram", ig_id, f"{ig_name} (Instagram)", linked=f"facebook:{page_id}",
                              department_hint=name))
    return out


def discover_meta(client: HttpClient, settings: Settings, token: str) -> Discovery:
    """Pages (with paging) and their Instagram accounts, plus Pages only listed in granular scopes."""
    found = Discovery()
    pages = list(get_all(client, settings, "me/accounts", token, {"fields": PAGE_FIELDS}))
    seen = {str(p.get("id")) for p in pages}
    try:
        info = inspect_token(client, settings, token)
    except ApiError as error:
        info = None
        found.notes.append(f"debug_token failed ({error}); Pages owned by a Business portfolio may be missing")
    if info is not None and info.is_valid:
        if "business_management" not in info.scopes and info.type != "PAGE":
            found.notes.append("the token lacks business_management: /me/accounts omits Pages owned by a Business "
                               "portfolio (docs/setup-meta.md)")
        extra = [t for s in ("pages_read_engagement", "pages_show_list") for t in info.granted_targets(s)]
        for page_id in dict.fromkeys(t for t in extra if t not in seen):
            try:
                page = get(client, settings, page_id, token, {"fields": PAGE_FIELDS})
            except ApiError as error:
                found.notes.append(f"Page {page_id} is granted to the token but cannot be read: {error}")
                continue
            if isinstance(page, dict) and page.get("id"):
                pages.append(page)
                seen.add(page_id)
    for page in pages:
        if isinstance(page, dict) and page.get("id"):
            found.accounts.extend(_page_accounts(page))
    found.searched |= {"facebook", "instagram"}
    return found


def discover_youtube(client: HttpClient, settings: Settings, secrets_file: Path | None = None) -> Discovery:
    """Channels owned by each stored YouTube credential and by `SOCIALPULSE_YOUTUBE_TOKEN`."""
    found = Discovery()
    tokens: list[tuple[str, str]] = []
    path = google_oauth.secrets_path(secrets_file)
    try:
        data = google_oauth.load_secrets(path)
    except google_oauth.OAuthError as error:
        found.notes.append(str(error))
        data = None
    if data:
        oauth = google_oauth.client_of(data)
        for credential in data.get("credentials", []):
            label = credential.get("title") or credential.get("channel_id") or "a stored credential"
            try:
                answer = google_oauth.refresh_access_token(client, oauth, str(credential.get("refresh_token", "")))
                tokens.append((str(label), str(answer["access_token"])))
            except ApiError as error:
                found.notes.append(f"YouTube credential for {label} cannot be refreshed ({error}): "
                                   "run `socialpulse youtube authorize` again")
    if settings.youtube_token is not None:
        tokens.append(("SOCIALPULSE_YOUTUBE_TOKEN", settings.youtube_token.get_secret_value()))
    if not tokens:
        found.notes.append(f"no YouTube credentials ({path} does not exist and SOCIALPULSE_YOUTUBE_TOKEN is not set): "
                           "YouTube skipped; see docs/setup-youtube.md")
    seen: set[str] = set()
    for label, access in tokens:
        try:
            channels = youtube_oauth.mine_channels(client, settings.youtube_data_url, access)
        except ApiError as error:
            found.notes.append(f"YouTube channels of {label} cannot be listed: {error}")
            continue
        found.searched.add("youtube")
        for channel in channels:
            if channel["id"] not in seen:
                seen.add(channel["id"])
                found.accounts.append(Discovered("youtube", channel["id"], f"{channel['title']} (YouTube)"))
    return found


# -- merging into the registry ---------------------------------------------------------------------

# (mapping indent, sequence indent, sequence dash offset) candidates, most common first.
_INDENTS = ((2, 4, 2), (2, 2, 0), (4, 4, 2), (4, 6, 4), (4, 4, 0), (2, 4, 0), (4, 2, 0))


def _yaml(indent: tuple[int, int, int]) -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long names or comments
    yaml.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    return yaml


def _dump(yaml: YAML, doc: Any) -> str:
    buf = io.StringIO()
    yaml.dump(doc, buf)
    return buf.getvalue()


def _load_round_trip(text: str, source: str = "the registry") -> tuple[YAML, Any, bool]:
    """Load with the indentation that reproduces the file exactly (so untouched lines stay untouched).

    Returns (yaml, document, exact): `exact` is False when no indentation reproduces the text byte
    for byte (unusual spacing); the merge then inserts the new entries as text instead.

    Raises:
        RegistryError: the text is not valid YAML (with the line).
    """
    first: tuple[YAML, Any] | None = None
    for indent in _INDENTS:
        yaml = _yaml(indent)
        try:
            doc = yaml.load(text)
        except YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark is not None else ""
            raise RegistryError(f"{source}{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
        if first is None:
            first = (yaml, doc)
        if _dump(yaml, doc) == text:
            return yaml, doc, True
    assert first is not None
    return first[0], first[1], False


_ACCOUNTS_KEY = re.compile(r"^accounts\s*:")
_TOP_LEVEL = re.compile(r"^(?:[^\s#-]|---|\.\.\.)")
_ITEM = re.compile(r"^(\s*)- ")


def _insert_entries(text: str, entries: CommentedSeq, comment: str) -> str | None:
    """Insert rendered entries at the end of the `accounts:` block, leaving every other byte alone.

    Returns None when the block cannot be located safely (the caller then re-dumps the document).
    """
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if _ACCOUNTS_KEY.match(line)), None)
    if start is None or lines[start].split(":", 1)[1].strip() not in ("", "[]"):
        return None
    stop = next((j for j in range(start + 1, len(lines)) if _TOP_LEVEL.match(lines[j])), len(lines))
    body = [j for j in range(start + 1, stop) if lines[j].strip() and not lines[j].startswith("#")]
    item = next((_ITEM.match(lines[j]) for j in body if _ITEM.match(lines[j])), None)
    offset = len(item.group(1)) if item else 2
    yaml = _yaml((2, offset + 2, offset))
    entries.yaml_set_comment_before_after_key(0, before=comment, indent=offset)
    rendered = _dump(yaml, {"accounts": entries}).split("\n", 1)[1]
    at = (body[-1] + 1) if body else start + 1
    head = lines[:at]
    if head and not head[-1].endswith("\n"):
        head[-1] += "\n"
    if not body:  # `accounts:` or `accounts: []` with no items: replace the key line
        head[start] = "accounts:\n"
    return "".join(head) + rendered + "".join(lines[at:])


@dataclass
class MergeResult:
    """The merged text and what changed."""

    old_text: str
    new_text: str
    added: list[Discovered] = field(default_factory=list)
    guessed: int = 0
    already: int = 0

    def diff(self, path: Path | str) -> str:
        """A unified diff old -> new."""
        return "".join(difflib.unified_diff(
            self.old_text.splitlines(keepends=True), self.new_text.splitlines(keepends=True),
            fromfile=f"a/{path}", tofile=f"b/{path}",
        ))


def new_registry_text(organisation: str, population: int, timezone: str = "Europe/Stockholm") -> str:
    """The skeleton of a registry file for `discover` to fill."""
    return (
        "# socialpulse account registry (created by `socialpulse accounts discover`; edit freely).\n"
        "# Ids are the platforms' own ids. Tokens never go here: `token_env` may name the environment\n"
        "# variable holding an account's token; default SOCIALPULSE_META_TOKEN / SOCIALPULSE_YOUTUBE_TOKEN.\n"
        "organisation:\n"
        f"  name: {_quote(organisation)}\n"
        f"  timezone: {timezone}\n"
        f"  population: {int(population)}\n"
        "accounts: []\n"
    )


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def merge_accounts(
    text: str, discovered: Iterable[Discovered], *, today: str | None = None, source: str = "the registry"
) -> MergeResult:
    """Append every discovered account that the registry text does not hold yet.

    Raises:
        RegistryError: the text is not YAML, or not a mapping with an `accounts` list.
    """
    yaml, doc, exact = _load_round_trip(text, source)
    if not isinstance(doc, CommentedMap):
        raise RegistryError("the registry is not a mapping with 'organisation' and 'accounts'")
    accounts = doc.get("accounts")
    if accounts is None or (isinstance(accounts, CommentedSeq) and not accounts and accounts.fa.flow_style()):
        accounts = CommentedSeq()
        doc["accounts"] = accounts
    if not isinstance(accounts, CommentedSeq):
        raise RegistryError("'accounts' in the registry is not a list")
    existing = {(str(a.get("platform")), str(a.get("id"))) for a in accounts if isinstance(a, dict)}
    known_departments = [str(a["department"]) for a in accounts if isinstance(a, dict) and a.get("department")]
    result = MergeResult(old_text=text, new_text=text)
    first_new: int | None = None
    guesses: dict[str, str] = {}
    for item in discovered:
        if item.key in existing:
            result.already += 1
            continue
        existing.add(item.key)
        hint = item.department_hint or item.name
        department = guesses.get(hint) or guess_department(hint, known_departments)
        guesses[hint] = department
        entry = CommentedMap()
        entry["platform"] = item.platform
        entry["id"] = DoubleQuotedScalarString(item.id)
        entry["name"] = DoubleQuotedScalarString(item.name)
        entry["department"] = DoubleQuotedScalarString(department)
        entry.yaml_add_eol_comment(REVIEW_COMMENT, "department")
        if item.linked:
            entry["linked"] = item.linked
        accounts.append(entry)
        if first_new is None:
            first_new = len(accounts) - 1
        result.added.append(item)
        result.guessed += 1
    if first_new is None:
        return result
    day = today or datetime.now(UTC).date().isoformat()
    comment = (f"added by `socialpulse accounts discover` on {day}: check each name, department "
               "and audience, then remove the review comments")
    if not exact:
        new_entries = CommentedSeq(accounts[first_new:])
        inserted = _insert_entries(text, new_entries, comment)
        if inserted is not None:
            result.new_text = inserted
            return result
    accounts.yaml_set_comment_before_after_key(first_new, before=comment, indent=_indent_of(yaml))
    result.new_text = _dump(yaml, doc)
    return result


def _indent_of(yaml: YAML) -> int:
    return int(yaml.sequence_dash_offset or 0)


def _validate_text(text: str, like: Path) -> None:
    """Raise RegistryError if `text` is not a registry `load_registry` accepts."""
    fd, name = tempfile.mkstemp(prefix=".accounts-", suffix=".yml", dir=like.parent if like.parent.exists() else None)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        load_registry(Path(name))
    finally:
        Path(name).unlink(missing_ok=True)


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` (same folder temp file + rename; keeps the file's mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(name, mode)
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


@dataclass
class DiscoverOutcome:
    """What `run_discover` did."""

    discovery: Discovery
    merge: MergeResult
    written: bool
    registry_errors: str | None = None
    not_visible: list[str] = field(default_factory=list)


def run_discover(
    settings: Settings,
    *,
    registry_path: Path | None = None,
    dry_run: bool = False,
    meta: bool = True,
    youtube: bool = True,
    organisation: str | None = None,
    population: int | None = None,
    client: HttpClient | None = None,
    youtube_secrets: Path | None = None,
    today: str | None = None,
    meta_token: Callable[[], str | None] | None = None,
) -> DiscoverOutcome:
    """Discover accounts and merge them into the registry (or only compute the diff when `dry_run`).

    Raises:
        RegistryError: the registry file cannot be parsed, a new file lacks organisation data, or
            the merge produced an invalid registry from a valid one (nothing is written then).
    """
    from ingestion.onboarding.graph import make_client

    path = registry_path or settings.accounts
    token = meta_token() if meta_token else (settings.meta_token.get_secret_value() if settings.meta_token else None)
    secrets = tuple(s for s in (token, settings.youtube_token.get_secret_value() if settings.youtube_token else None)
                    if s)
    own_client = client is None
    client = client or make_client(settings, secrets)
    discovery = Discovery()
    try:
        if meta:
            if token:
                discovery.extend(discover_meta(client, settings, token))
            else:
                discovery.notes.append("SOCIALPULSE_META_TOKEN is not set: Facebook and Instagram skipped "
                                       "(docs/setup-meta.md)")
        if youtube:
            discovery.extend(discover_youtube(client, settings, youtube_secrets))
    finally:
        if own_client:
            client.close()

    if path.exists():
        old_text = path.read_text(encoding="utf-8")
    else:
        if organisation is None or population is None:
            raise RegistryError(f"{path} does not exist: pass --organisation NAME and --population N to create it")
        old_text = ""
    base_text = old_text or new_registry_text(organisation or "", population or 1)
    merge = merge_accounts(base_text, discovery.accounts, today=today, source=str(path))
    merge.old_text = old_text
    if not old_text:
        merge.new_text = merge.new_text if merge.added else base_text

    registry_errors = None
    try:
        _validate_text(merge.new_text, path)
    except RegistryError as error:
        registry_errors = str(error)
        original_valid = bool(old_text)
        if original_valid:
            try:
                _validate_text(old_text, path)
            except RegistryError:
                original_valid = False
        if original_valid or not old_text:
            raise RegistryError(f"the merged registry would be invalid; nothing written:\n{error}") from None
    registered = set()
    if old_text:
        _, doc, _ = _load_round_trip(old_text, str(path))
        registered = {(str(a.get("platform")), str(a.get("id"))) for a in (doc or {}).get("accounts") or []
                      if isinstance(a, dict)}
    found_keys = {a.key for a in discovery.accounts}
    not_visible = sorted(f"{p}:{i}" for p, i in registered - found_keys if p in discovery.searched)
    written = False
    if not dry_run and merge.new_text != old_text:
        write_atomically(path, merge.new_text)
        written = True
    return DiscoverOutcome(discovery, merge, written, registry_errors, not_visible)
