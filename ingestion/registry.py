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

Platform = Literal["facebook", "instagram", "youtube", "snapchat"]
PLATFORMS: tuple[str, ...] = ("facebook", "instagram", "youtube", "snapchat")

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


class _RegistryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation: Organisation
    accounts: list[Account] = Field(min_length=1)


@dataclass(frozen=True)
class Registry:
    """A validated registry."""

    organisation: Organisation
    accounts: tuple[Account, ...]

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
        for err in exc.errors():
            loc = tuple(err["loc"])
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
    if problems:
        raise RegistryError("invalid registry:\n" + "\n".join(problems))
    return Registry(organisation=parsed.organisation, accounts=tuple(parsed.accounts))
