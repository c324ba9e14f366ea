"""Synthetic audiences (demographics) of each account: age/gender/city/country shares by department."""

from __future__ import annotations

from typing import Any

import numpy as np

from sandbox import data as D

# ------------------------------------------------------------------------------------------------
# Audiences (demographics)
# ------------------------------------------------------------------------------------------------

AGE_GROUPS = ("13-17", "18-24", "25-34", "35-44", "45-54", "55-64", "65+")
GENDERS = ("F", "M", "U")
"""Instagram's gender keys (female, male, unknown); YouTube maps them to female/male/user_specified."""

# Followers by age group per department (before per-account noise). Why these shapes: the
# issue asks that audiences differ by department, and a youth centre that does not skew young
# would make a demographic mart untestable.
_DEPARTMENT_AGE_PRIOR: dict[str, tuple[float, ...]] = {
    "Kommunstyrelsen": (0.02, 0.08, 0.18, 0.20, 0.20, 0.17, 0.15),
    "Kultur": (0.03, 0.10, 0.20, 0.21, 0.19, 0.15, 0.12),
    "Fritid": (0.08, 0.14, 0.22, 0.24, 0.16, 0.10, 0.06),
    "Skola": (0.14, 0.14, 0.14, 0.26, 0.18, 0.09, 0.05),
    "Äldreomsorg": (0.01, 0.03, 0.07, 0.10, 0.14, 0.22, 0.43),
    "Ungdom": (0.34, 0.30, 0.12, 0.11, 0.07, 0.04, 0.02),
    "Bibliotek": (0.05, 0.09, 0.17, 0.21, 0.18, 0.15, 0.15),
    "Miljö": (0.02, 0.10, 0.24, 0.22, 0.18, 0.14, 0.10),
}
# Platform tilt on top of the department prior (Facebook older, Snapchat very young).
_PLATFORM_AGE_TILT: dict[str, tuple[float, ...]] = {
    "facebook": (0.3, 0.6, 0.9, 1.0, 1.2, 1.4, 1.6),
    "instagram": (1.0, 1.4, 1.3, 1.1, 0.9, 0.7, 0.5),
    "youtube": (1.2, 1.3, 1.1, 1.0, 0.9, 0.8, 0.7),
    "snapchat": (3.0, 2.5, 1.2, 0.6, 0.3, 0.15, 0.05),
}
_ENGAGED_AGE_TILT = np.array([1.3, 1.25, 1.1, 1.0, 0.9, 0.8, 0.7])
"""Engaged accounts are a little younger than followers."""

HOME_CITY = ("Sandviken", "Gävleborg County")
# (city, region) pairs; more than 45 so Instagram's top-45 cut is visible.
CITIES: tuple[tuple[str, str], ...] = (
    ("Gävle", "Gävleborg County"), ("Stockholm", "Stockholm County"), ("Uppsala", "Uppsala County"),
    ("Göteborg", "Västra Götaland County"), ("Hofors", "Gävleborg County"), ("Falun", "Dalarna County"),
    ("Borlänge", "Dalarna County"), ("Malmö", "Skåne County"), ("Västerås", "Västmanland County"),
    ("Storvik", "Gävleborg County"), ("Söderhamn", "Gävleborg County"), ("Hudiksvall", "Gävleborg County"),
    ("Örebro", "Örebro County"), ("Avesta", "Dalarna County"), ("Linköping", "Östergötland County"),
    ("Sala", "Västmanland County"), ("Norrköping", "Östergötland County"), ("Sundsvall", "Västernorrland County"),
    ("Bollnäs", "Gävleborg County"), ("Ockelbo", "Gävleborg County"), ("Umeå", "Västerbotten County"),
    ("Jönköping", "Jönköping County"), ("Helsingborg", "Skåne County"), ("Lund", "Skåne County"),
    ("Karlstad", "Värmland County"), ("Eskilstuna", "Södermanland County"), ("Ludvika", "Dalarna County"),
    ("Östersund", "Jämtland County"), ("Växjö", "Kronoberg County"), ("Halmstad", "Halland County"),
    ("Borås", "Västra Götaland County"), ("Södertälje", "Stockholm County"), ("Nyköping", "Södermanland County"),
    ("Mora", "Dalarna County"), ("Ljusdal", "Gävleborg County"), ("Skutskär", "Uppsala County"),
    ("Tierp", "Uppsala County"), ("Enköping", "Uppsala County"), ("Kalmar", "Kalmar County"),
    ("Kristianstad", "Skåne County"), ("Luleå", "Norrbotten County"), ("Skellefteå", "Västerbotten County"),
    ("Trollhättan", "Västra Götaland County"), ("Karlskrona", "Blekinge County"), ("Visby", "Gotland County"),
    ("Härnösand", "Västernorrland County"), ("Fagersta", "Västmanland County"), ("Heby", "Uppsala County"),
    ("Hedemora", "Dalarna County"), ("Norrtälje", "Stockholm County"), ("Kiruna", "Norrbotten County"),
    ("Motala", "Östergötland County"), ("Varberg", "Halland County"), ("Uddevalla", "Västra Götaland County"),
    ("Skövde", "Västra Götaland County"), ("Piteå", "Norrbotten County"), ("Alingsås", "Västra Götaland County"),
    ("Arboga", "Västmanland County"), ("Köping", "Västmanland County"), ("Säter", "Dalarna County"),
)
_COUNTRIES = (
    "NO", "FI", "DK", "DE", "GB", "US", "PL", "IR", "SY", "IQ", "TR", "ES", "NL", "FR", "IT", "EE",
    "SO", "AF", "ER", "TH", "IN", "CN", "AU", "CA", "CH", "AT", "LT", "LV", "BA", "RS",
)
DEMOGRAPHIC_TOP_N = 45
"""Instagram returns only the top 45 values of a breakdown (PLATFORM_APIS §3.4)."""
DEMOGRAPHIC_MIN_FOLLOWERS = 100


AUDIENCE_CACHE_MAX = 512
_AUDIENCES = D._LRU(AUDIENCE_CACHE_MAX)
"""``audience`` per (seed, platform, account, engaged): ~13 KiB each (tracemalloc), so ~6.5 MiB at
most; the demo registry needs 240 (80 Pages, 80 IG accounts followers + engaged). Not 2,048 like
the profiles: that would add 26 MiB to the 50,000-account ceiling bench/bench_sandbox.py checks."""


def audience(seed: int, platform: str, account_id: str, engaged: bool = False) -> dict[str, Any]:
    """Audience shares of one account (time-invariant): a pure function of (seed, platform, id).

    Drawn once per account and kept in a bounded LRU (every demographics answer and every day of
    ``page_follows_city/country`` asked for it again: 1,554 draws for 240 audiences in a demo
    nightly + 60-day backfill; issue 21). The answer is shared: read it, never change it (its
    ``age_gender`` array is read-only).

    Returns ``age_gender`` (7 x 3 array over ``AGE_GROUPS`` x ``GENDERS``, sums to 1), ``cities``
    (list of ((city, region), share), descending, sums to 1), ``countries`` (list of (ISO-2,
    share), descending, Sweden first) and ``coverage`` (fraction of followers with demographic
    data; Meta reports only those, so demographic sums stay below the follower count).
    ``engaged=True`` gives the (younger) audience of engaged accounts.
    """
    return _AUDIENCES.get_or_make((seed, platform, account_id, engaged),
                                  lambda: _draw_audience(seed, platform, account_id, engaged))


def _draw_audience(seed: int, platform: str, account_id: str, engaged: bool) -> dict[str, Any]:
    i = D.account_index(platform, account_id) or 1
    department = D.account_identity(seed, i)["department"]
    rng = np.random.default_rng(
        np.random.SeedSequence([*D.seed_words(seed), D.platform_code(platform), D.account_int(account_id), 0xDE])
    )
    prior = np.array(_DEPARTMENT_AGE_PRIOR[department]) * np.array(_PLATFORM_AGE_TILT[platform])
    age = rng.dirichlet(prior / prior.sum() * 60.0)
    if engaged:
        age = age * _ENGAGED_AGE_TILT
        age = age / age.sum()
    female = float(np.clip(rng.normal(0.60 if department != "Fritid" else 0.50, 0.05), 0.3, 0.8))
    unknown = float(rng.uniform(0.01, 0.04))
    # Older groups slightly more female (as in Swedish municipal audiences).
    female_by_age = np.clip(female + np.linspace(-0.04, 0.06, len(AGE_GROUPS)), 0.05, 0.95)
    age_gender = np.stack(
        [age * female_by_age * (1 - unknown), age * (1 - female_by_age) * (1 - unknown), age * unknown], axis=1
    )
    age_gender = age_gender / age_gender.sum()
    age_gender.flags.writeable = False  # cached and shared (see audience)
    home = float(rng.uniform(0.30, 0.55))
    tail = rng.dirichlet(1.0 / (np.arange(len(CITIES)) + 1.0) * 40.0 + 0.05)
    cities = [(HOME_CITY, home)] + [(c, (1 - home) * float(w)) for c, w in zip(CITIES, tail, strict=True)]
    cities.sort(key=lambda kv: -kv[1])
    sweden = float(rng.uniform(0.86, 0.96))
    abroad = rng.dirichlet(1.0 / (np.arange(len(_COUNTRIES)) + 1.0) * 20.0 + 0.05)
    countries = [("SE", sweden)] + [(c, (1 - sweden) * float(w)) for c, w in zip(_COUNTRIES, abroad, strict=True)]
    countries.sort(key=lambda kv: -kv[1])
    return {
        "department": department,
        "age_gender": age_gender,
        "cities": cities,
        "countries": countries,
        "coverage": float(rng.uniform(0.85, 0.95)),
    }


def apportion(total: int, shares: np.ndarray | list[float]) -> np.ndarray:
    """Split a non-negative integer ``total`` by ``shares`` (largest remainder): integer parts that
    sum exactly to ``total``. Used so every breakdown of one audience sums to the same number."""
    w = np.asarray(shares, dtype=np.float64).ravel()
    if total <= 0 or w.sum() <= 0:
        return np.zeros(w.shape, dtype=np.int64)
    exact = w / w.sum() * total
    parts = np.floor(exact).astype(np.int64)
    short = int(total - parts.sum())
    if short:
        order = np.argsort(-(exact - parts), kind="stable")
        parts[order[:short]] += 1
    return parts


def audience_counts(seed: int, platform: str, account_id: str, population: int, engaged: bool = False) -> dict:
    """Integer audience of ``population`` people (followers, or engaged accounts) by breakdown.

    Only ``coverage`` of the population has demographic data. Returns ``age_gender`` {(age, g): n},
    ``age`` {age: n}, ``gender`` {g: n}, ``city`` {(city, region): n} and ``country`` {code: n};
    each breakdown sums to the same total, zero cells are dropped. No top-N cut here (the API does it).
    """
    aud = audience(seed, platform, account_id, engaged)
    total = int(population * aud["coverage"])
    grid = apportion(total, aud["age_gender"]).reshape(len(AGE_GROUPS), len(GENDERS))
    out: dict[str, dict] = {"age_gender": {}, "age": {}, "gender": {}}
    for a, age in enumerate(AGE_GROUPS):
        for g, gender in enumerate(GENDERS):
            if grid[a, g]:
                out["age_gender"][(age, gender)] = int(grid[a, g])
        if grid[a].sum():
            out["age"][age] = int(grid[a].sum())
    for g, gender in enumerate(GENDERS):
        if grid[:, g].sum():
            out["gender"][gender] = int(grid[:, g].sum())
    city_counts = apportion(total, [s for _, s in aud["cities"]])
    out["city"] = {c: int(n) for (c, _), n in zip(aud["cities"], city_counts, strict=True) if n}
    country_counts = apportion(total, [s for _, s in aud["countries"]])
    out["country"] = {c: int(n) for (c, _), n in zip(aud["countries"], country_counts, strict=True) if n}
    return out
