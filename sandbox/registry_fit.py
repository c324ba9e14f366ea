"""Size the sandbox to an account registry, so a demo serves exactly the accounts it will be asked for.

`socialpulse sandbox serve --registry config/accounts.yml` reads the registry's account ids, maps each
back to the sandbox index it was generated from (`sandbox.data.account_index`) and sizes the sandbox
to the largest index per platform. A registry id the sandbox cannot generate (a real Page id pasted
into the demo registry, a typo) is refused with one line naming it, instead of the run failing later
with "Object with ID ... does not exist" for that account.

Reads the YAML itself (the sandbox never imports the pipeline package).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from sandbox.data import META_PLATFORMS, PLATFORMS, account_index


@dataclass(frozen=True)
class RegistrySizes:
    """Sandbox sizes that cover every account of a registry."""

    accounts: int  # Facebook Pages = Instagram accounts (they are generated in linked pairs)
    youtube_channels: int
    snapchat_profiles: int
    per_platform: dict[str, int]  # registry accounts per platform, for messages


def sizes_for_registry(path: Path) -> RegistrySizes:
    """Sizes for `path`; raises ValueError (one line) for an unreadable registry or a foreign id."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read registry {path}: {exc}".splitlines()[0]) from None
    accounts = data.get("accounts") if isinstance(data, dict) else None
    if not isinstance(accounts, list) or not accounts:
        raise ValueError(f"registry {path} has no accounts")
    highest = dict.fromkeys(PLATFORMS, 0)
    counts = dict.fromkeys(PLATFORMS, 0)
    for entry in accounts:
        platform = str(entry.get("platform", "")) if isinstance(entry, dict) else ""
        account_id = str(entry.get("id", "")) if isinstance(entry, dict) else ""
        if platform not in highest:
            raise ValueError(f"registry {path}: unknown platform {platform!r}")
        index = account_index(platform, account_id)
        if index is None:
            raise ValueError(f"registry {path}: {platform} id {account_id!r} is not one the sandbox generates "
                             "(write a sandbox registry with `python -m bench.registry`)")
        highest[platform] = max(highest[platform], index)
        counts[platform] += 1
    return RegistrySizes(
        accounts=max(highest[p] for p in META_PLATFORMS),
        youtube_channels=highest["youtube"],
        snapchat_profiles=highest["snapchat"],
        per_platform={p: n for p, n in counts.items() if n},
    )
