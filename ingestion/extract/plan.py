"""Planning: which accounts and which platform days each run covers.

The nightly run re-reads a trailing window (`lookback_days`) because platforms restate recent days;
observations are append-only and staging takes the latest, so re-reading is safe and measurable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from ingestion.core.days import PACIFIC, platform_today
from ingestion.core.platforms import ALL, SUPPORTED, TIMEZONES
from ingestion.core.registry import Registry

# Meta keeps insights for two years (PLATFORM_APIS.md §2.3); older days are never requested.
HISTORY_HORIZON_DAYS = 730


class PlanError(ValueError):
    """A request no plan can serve (a day that is not complete yet, an unknown account, a range the
    platforms no longer keep): refused before anything is fetched or written."""


@dataclass(frozen=True)
class AccountPlan:
    """One account's work in one run: the inclusive window of platform days to read."""

    platform: str
    account_id: str
    token_env: str | None
    since: date
    until: date

    def to_dict(self) -> dict[str, str | None]:
        """JSON form (Airflow XCom, landing metadata)."""
        return {
            "platform": self.platform,
            "account_id": self.account_id,
            "token_env": self.token_env,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, str | None]) -> AccountPlan:
        """Inverse of `to_dict`."""
        return cls(
            platform=str(data["platform"]),
            account_id=str(data["account_id"]),
            token_env=data.get("token_env"),
            since=date.fromisoformat(str(data["since"])),
            until=date.fromisoformat(str(data["until"])),
        )


def horizon_start(platform: str, now: datetime | None = None) -> date:
    """The oldest day still requested on `platform`: HISTORY_HORIZON_DAYS before the platform's today.

    The platform's calendar (Pacific for Meta and YouTube) decides, not the machine's: at 08:00 in
    Stockholm it is still yesterday in California. `now` is the injectable clock.
    """
    return platform_today(platform, now) - timedelta(days=HISTORY_HORIZON_DAYS)


def last_complete_day(platform: str, now: datetime | None = None) -> date:
    """The newest day `platform` can deliver complete: yesterday on its calendar (Pacific for Meta
    and YouTube). `now` is the injectable clock."""
    return platform_today(platform, now) - timedelta(days=1)


def check_complete(day: date, platforms: tuple[str, ...], what: str = "--as-of",
                   now: datetime | None = None) -> None:
    """Refuse a day after the last complete day of any of `platforms`.

    Why: the platforms answer a request for a future day with no data, the coverage ledger would
    still record it as fetched, and from then on the mart gate's completeness check fails every
    run (issue 16). Raises PlanError naming the day to use instead.
    """
    for platform in platforms:
        last = last_complete_day(platform, now)
        if day > last:
            raise PlanError(f"{what} {day} is after the last complete platform day, {last} ({platform} counts "
                            f"days in {TIMEZONES.get(platform, PACIFIC).key}): the platforms have no data "
                            f"for it yet. Use {what} {last} or earlier (or leave it out); nothing was done.")


def plan_window(
    registry: Registry, since: date, until: date, platforms: tuple[str, ...] | None = None,
    now: datetime | None = None,
) -> list[AccountPlan]:
    """Plans for every active, supported account over [since, until], clipped to active dates and to
    the platform's history horizon (`now`: the clock, default the real one)."""
    wanted = platforms or SUPPORTED
    horizons: dict[str, date] = {}
    plans = []
    for account in registry.accounts:
        if account.platform not in ALL or account.platform not in wanted:
            continue
        if account.platform not in horizons:
            horizons[account.platform] = horizon_start(account.platform, now)
        start = max(since, horizons[account.platform])
        start = max(start, account.active_from) if account.active_from else start
        end = min(until, account.active_until) if account.active_until else until
        if start > end:
            continue
        plans.append(AccountPlan(account.platform, account.id, account.token_env, start, end))
    return plans


# Platforms whose recent days arrive late need a longer nightly re-read than the default: YouTube
# Analytics omits the last 2-4 days until every metric is final (PLATFORM_APIS.md §5.2, §8).
MIN_LOOKBACK_DAYS: dict[str, int] = {"youtube": 7}


def plan_nightly(registry: Registry, as_of: date, lookback_days: int,
                 platforms: tuple[str, ...] = SUPPORTED, now: datetime | None = None) -> list[AccountPlan]:
    """The nightly plan: the `lookback_days` platform days ending with `as_of` (longer where a
    platform's data arrives late). An `as_of` after a platform's last complete day is refused
    (PlanError): Airflow's conf `as_of` and the CLI's --as-of go through here."""
    check_complete(as_of, tuple(platforms), "as-of", now)
    plans = []
    for platform in platforms:
        days = max(lookback_days, MIN_LOOKBACK_DAYS.get(platform, 1))
        plans += plan_window(registry, as_of - timedelta(days=days - 1), as_of, (platform,), now)
    return plans


def without_covered(plans: list[AccountPlan], covered) -> list[AccountPlan]:
    """Shrink each plan to the span of its days that the coverage ledger does not hold yet.

    `covered(plan)` returns the inclusive ranges already fetched successfully. A plan whose days
    are all covered is dropped. Gaps inside the span are re-read with it (one window per account
    keeps the fetch engine simple; re-reading a covered day only adds a newer observation).
    """
    out = []
    for plan in plans:
        held = set()
        for first, last in covered(plan):
            day = max(first, plan.since)
            while day <= min(last, plan.until):
                held.add(day)
                day += timedelta(days=1)
        missing = [d for d in _days(plan.since, plan.until) if d not in held]
        if missing:
            out.append(AccountPlan(plan.platform, plan.account_id, plan.token_env, min(missing), max(missing)))
    return out


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]
