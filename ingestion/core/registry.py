"""The account registry (`config/accounts.yml`): which accounts exist, who owns them, whom they target.

The registry is validated completely before any API call: a typo must fail the run at 03:00 with the
file's line number, not half-way through 160 accounts. Tokens never live here; an account may only
name the environment variable that holds its token (`token_env`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ingestion.core.platforms import ALL, PEERS

Platform = Literal[ALL]  # the one platform table (ingestion.core.platforms)
PLATFORMS: tuple[str, ...] = ALL

# External id formats: Meta ids are numeric strings; YouTube channel ids are "UC" + 22 chars;
# Snapchat profile ids are UUIDs.
_ID_PATTERNS: dict[str, re.Pattern[str]] = {
    "facebook": re.compile(r"^\d{5,20}$"),
    "instagram": re.compile(r"^\d{5,20}$"),
    "youtube": re.compile(r"^UC[A-Za-z0-9_-]{22}$"),
    "snapchat": re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
}
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class RegistryError(ValueError):
    """The registry file is unreadable or invalid; the message names file, line and field."""


class Account(BaseModel):
    """One account on one platform."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    platform: Platform
    id: str
    name: str = Field(min_length=1)
    department: str = Field(min_length=1)
    audience: tuple[str, ...] = ()
    active_from: date | None = None
    active_until: date | None = None
    linked: str | None = Field(default=None, description="'platform:id' of a paired account")
    token_env: str | None = None

    @field_validator("id", mode="before")
    @classmethod
    def _id_is_text(cls, value: Any) -> Any:
        # YAML turns unquoted numeric ids into ints; accept them but keep ids as text.
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("token_env")
    @classmethod
    def _token_env_is_a_name(cls, value: str | None) -> str | None:
        if value is not None and not _ENV_NAME.match(value):
            raise ValueError("token_env must name an environment variable (A-Z, 0-9, _), not hold a token")
        return value

    @model_validator(mode="after")
    def _check(self) -> Account:
        if not _ID_PATTERNS[self.platform].match(self.id):
            raise ValueError(f"malformed {self.platform} id {self.id!r}")
        if self.active_from and self.active_until and self.active_until < self.active_from:
            raise ValueError("active_until is before active_from")
        if self.linked is not None:
            platform, _, ext_id = self.linked.partition(":")
            if platform not in PLATFORMS or not ext_id:
                raise ValueError("linked must look like 'instagram:17841400000000001'")
        return self

    @property
    def key(self) -> tuple[str, str]:
        """(platform, id): unique within a registry."""
        return (self.platform, self.id)


class Organisation(BaseModel):
    """The organisation the accounts belong to; population feeds per-1,000-residents KPIs.

    Population and age bands are optional: a team trying the pipeline on its accounts should not
    have to look up census figures first. Without them the measures that divide by them are NULL
    (never a guessed denominator) and `notices` says so in one line.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    timezone: str = "Europe/Stockholm"
    population: int | None = Field(default=None, gt=0)
    population_by_age: dict[str, int] = Field(default_factory=dict)

    @property
    def notices(self) -> tuple[str, ...]:
        """One line per optional fact the registry leaves out, naming the measures it empties."""
        notes = []
        if self.population is None:
            notes.append("organisation.population is not set: followers per 1,000 residents are NULL")
        if not self.population_by_age:
            notes.append("organisation.population_by_age is not set: audience-versus-population shares are NULL")
        return tuple(notes)


PeerPlatform = Literal[PEERS]
_IG_USERNAME = re.compile(r"^[A-Za-z0-9._]{1,30}$")
_YT_HANDLE = re.compile(r"^@[A-Za-z0-9._-]{3,30}$")


class PeerAccount(BaseModel):
    """A public account of a peer organisation, named the way the platform's public API finds it.

    Instagram: `username` (business discovery only looks accounts up by username). Facebook: the
    Page `id` (public Page fields are read by id). YouTube: the channel `id` or its `@handle`.
    Snapchat has no public-counts API open to us, so it is not a peer platform.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    platform: PeerPlatform
    username: str | None = None
    id: str | None = None
    handle: str | None = None
    department: str | None = Field(default=None, min_length=1)

    @field_validator("id", mode="before")
    @classmethod
    def _id_is_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _check(self) -> PeerAccount:
        given = {k for k in ("username", "id", "handle") if getattr(self, k) is not None}
        if self.platform == "instagram":
            if given != {"username"}:
                raise ValueError("an instagram peer account needs `username` (and no id/handle)")
            if not _IG_USERNAME.match(self.username or ""):
                raise ValueError(f"malformed instagram username {self.username!r}")
        elif self.platform == "facebook":
            if given != {"id"}:
                raise ValueError("a facebook peer account needs the Page `id` (and no username/handle)")
            if not _ID_PATTERNS["facebook"].match(self.id or ""):
                raise ValueError(f"malformed facebook Page id {self.id!r}")
        else:
            if len(given) != 1 or "username" in given:
                raise ValueError("a youtube peer account needs exactly one of `id` (UC...) or `handle` (@...)")
            if self.id is not None and not _ID_PATTERNS["youtube"].match(self.id):
                raise ValueError(f"malformed youtube channel id {self.id!r}")
            if self.handle is not None and not _YT_HANDLE.match(self.handle):
                raise ValueError(f"malformed youtube handle {self.handle!r} (expected '@name')")
        return self

    @property
    def ref(self) -> str:
        """The identifier the public API is called with: username, Page id, channel id or @handle."""
        return self.username or self.id or self.handle or ""

    @property
    def key(self) -> tuple[str, str]:
        """(platform, ref), ref case-folded where the platform ignores case (usernames, handles)."""
        return (self.platform, self.ref if self.platform == "facebook" or self.id else self.ref.lower())


class Peer(BaseModel):
    """Another organisation to compare with: its population and its public accounts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    population: int | None = Field(default=None, gt=0)
    group: str | None = Field(default=None, min_length=1)
    accounts: tuple[PeerAccount, ...] = Field(min_length=1)


class _RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation: Organisation
    accounts: list[Account] = Field(min_length=1)
    peers: list[Peer] = Field(default_factory=list)


@dataclass(frozen=True)
class Registry:
    """A validated registry."""

    organisation: Organisation
    accounts: tuple[Account, ...]
    peers: tuple[Peer, ...] = ()

    def for_platform(self, platform: str) -> list[Account]:
        """Accounts of one platform, in file order."""
        return [a for a in self.accounts if a.platform == platform]

    def get(self, platform: str, account_id: str) -> Account:
        """One account by its key; KeyError when it is not registered."""
        for account in self.accounts:
            if account.key == (platform, account_id):
                return account
        raise KeyError(f"{platform}:{account_id} is not in the registry")


def _line_of(node: yaml.Node | None, path: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at `path` (keys and list indexes), as deep as it exists."""
    line = node.start_mark.line + 1 if node is not None else None
    for step in path:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == step), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            match = node.value[step]
        else:
            match = None
        if match is None:
            break
        node = match
        line = node.start_mark.line + 1
    return line


def _loader_class() -> type:
    """libyaml's safe loader when PyYAML was built with it (~10x faster), else the pure-Python one.

    Both build the same node tree with the same line marks, so validation errors keep their lines.
    """
    return getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader


def _parse(text: str) -> tuple[yaml.Node | None, Any]:
    """One pass over the text: the node tree (for line numbers) and the data built from it."""
    loader = _loader_class()(text)
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    finally:
        loader.dispose()
    return root, data


def load_registry(path: Path) -> Registry:
    """Read and validate a registry file.

    Raises:
        RegistryError: unreadable YAML, a schema violation, a malformed id, a duplicate account or a
            link to an account that is not registered; every problem is listed with its line.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RegistryError(f"{path}: cannot read the registry ({exc.strerror})") from None
    try:
        root, data = _parse(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise RegistryError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise RegistryError(f"{path}: expected a mapping with 'organisation' and 'accounts'")
    try:
        parsed = _RegistryFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        errors = exc.errors()
        locs = [tuple(e["loc"]) for e in errors]
        for err in errors:
            loc = tuple(err["loc"])
            if err["type"] == "too_short" and any(len(o) > len(loc) and o[: len(loc)] == loc for o in locs):
                continue  # "no valid item left" only repeats the items' own errors
            line = _line_of(root, loc)
            field = ".".join(str(p) for p in loc) or "(top level)"
            problems.append(f"{path} line {line}: {field}: {err['msg']}")
        raise RegistryError("invalid registry:\n" + "\n".join(problems)) from None

    problems = []
    seen: dict[tuple[str, str], int] = {}
    keys = {a.key for a in parsed.accounts}
    for index, account in enumerate(parsed.accounts):
        line = _line_of(root, ("accounts", index))
        if account.key in seen:
            problems.append(
                f"{path} line {line}: duplicate account {account.platform}:{account.id} "
                f"(first at line {seen[account.key]})"
            )
        seen.setdefault(account.key, line or 0)
        if account.linked:
            platform, _, ext_id = account.linked.partition(":")
            if (platform, ext_id) not in keys:
                problems.append(f"{path} line {line}: linked account {account.linked} is not registered")
    problems.extend(_peer_problems(path, root, parsed))
    if problems:
        raise RegistryError("invalid registry:\n" + "\n".join(problems))
    return Registry(organisation=parsed.organisation, accounts=tuple(parsed.accounts), peers=tuple(parsed.peers))


def _peer_problems(path: Path, root: yaml.Node | None, parsed: _RegistryFile) -> list[str]:
    """Duplicate peer names or accounts, and peer accounts that are our own: one line each.

    Why: a peer listed twice would count twice in the ranking, and one of our own Pages listed as a
    peer would be compared with itself.
    """
    problems = []
    names: dict[str, int] = {}
    seen: dict[tuple[str, str], int] = {}
    own = {a.key for a in parsed.accounts}
    for p_index, peer in enumerate(parsed.peers):
        line = _line_of(root, ("peers", p_index)) or 0
        if peer.name.casefold() in names:
            first = names[peer.name.casefold()]
            problems.append(f"{path} line {line}: duplicate peer {peer.name!r} (first at line {first})")
        names.setdefault(peer.name.casefold(), line)
        for a_index, account in enumerate(peer.accounts):
            a_line = _line_of(root, ("peers", p_index, "accounts", a_index)) or 0
            label = f"{account.platform}:{account.ref}"
            if account.key in seen:
                problems.append(
                    f"{path} line {a_line}: duplicate peer account {label} (first at line {seen[account.key]})")
            seen.setdefault(account.key, a_line)
            if account.id is not None and (account.platform, account.id) in own:
                problems.append(f"{path} line {a_line}: peer account {label} is one of the organisation's own accounts")
    return problems
