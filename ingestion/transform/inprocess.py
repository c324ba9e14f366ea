"""What a process that runs dbt in itself, build after build, need not do again (issue 21).

dbt's per-node Python bounds the nightly build (bench/README.md, "the dbt nightly is bound by dbt's
own Python"); three parts of it are repeated work that running dbt in our own long-lived process
lets us skip, each without changing what dbt runs or writes:

1. Events no one reads (`LevelGatedEventManager`, below).
2. Type testers rebuilt for every query result (`remember_type_testers`, below).
3. Macro templates compiled again by every forked task (`compile_macro_templates`, below).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from dbt_common.clients import agate_helper
from dbt_common.events.base_types import BaseEvent, EventLevel
from dbt_common.events.event_manager import EventManager
from dbt_common.events.event_manager_client import ctx_set_event_manager, get_event_manager
from dbt_common.events.logger import _log_level_map

# The lowest level read outside the loggers: the runner's callbacks print info, warn and error
# (runner._PRINTED_LEVELS), dbt's tracking callback reads a warn-level event.
CALLBACK_FLOOR = _log_level_map[EventLevel.INFO]


class LevelGatedEventManager(EventManager):
    """dbt's EventManager that drops an event before building its message when no one reads its level.

    dbt reports everything it does as events: each SQL statement, connection use and cache update is a
    debug event, and its event manager turns every event into a full protobuf message (level, text,
    timestamp, thread, invocation id: `json_format.ParseDict`) before its loggers and callbacks look
    at the level and drop it. Our invocations read only `info` and above (console lines for the run's
    log, dbt.log at setting `dbt_log_level`, default info), so in a nightly build most of that work
    was thrown away: ~70 of 800 py-spy samples of the dbt Python that bounds the nightly (issue 21).

    `LevelGatedEventManager` is dbt's own EventManager (installed with dbt_common's
    `ctx_set_event_manager`, the hook dbt provides to replace it) with one early return: an event below
    the lowest level any of its loggers writes, and below `info` (what the runner's callbacks and dbt's
    own behaviour-change tracking read), is not built into a message. With `dbt_log_level=debug` the
    file logger reads debug, so nothing is skipped. An event that must be handled as a warning or error
    (`force_warn_or_error_handling`) always goes through.
    """

    def fire_event(
        self,
        e: BaseEvent,
        level: EventLevel | None = None,
        node: Any = None,
        force_warn_or_error_handling: bool = False,
    ) -> None:
        if not force_warn_or_error_handling and _log_level_map[level or e.level_tag()] < self.floor():
            return
        super().fire_event(e, level=level, node=node, force_warn_or_error_handling=force_warn_or_error_handling)

    def floor(self) -> int:
        """The lowest (Python logging) level that a logger or a callback reads."""
        return min([CALLBACK_FLOOR, *(_log_level_map[logger.level] for logger in self.loggers)])


def install() -> None:
    """Make the process's dbt invocations use LevelGatedEventManager and remembered type testers
    (idempotent)."""
    if not isinstance(get_event_manager(), LevelGatedEventManager):
        ctx_set_event_manager(LevelGatedEventManager())
    remember_type_testers()


def remember_type_testers() -> None:
    """Build each of dbt's agate type testers once per process instead of once per query result.

    dbt turns every fetched result (run_query, a relation's columns, a test's failures) into an
    agate table; for a result with a text column it builds a new TypeTester, whose Date and
    DateTime types each set up a parsedatetime calendar with its ICU locale: ~0.7 ms a result,
    ~90 of 1,085 py-spy samples of a nightly build. A tester depends only on its two arguments
    and is only read afterwards (dbt itself shares one module-wide tester across its threads for
    results without text columns), so the same arguments get the same tester."""
    if getattr(agate_helper.build_type_tester, "remembered", False):
        return
    build = agate_helper.build_type_tester

    @functools.lru_cache(maxsize=256)
    def _remembered(text_columns: tuple[str, ...], string_null_values: tuple[str, ...] | None) -> Any:
        return build(text_columns, string_null_values=string_null_values)

    def build_type_tester(
        text_columns: Iterable[str], string_null_values: Iterable[str] | None = ("null", "")
    ) -> Any:
        nulls = None if string_null_values is None else tuple(string_null_values)
        return _remembered(tuple(sorted(text_columns)), nulls)

    build_type_tester.remembered = True  # type: ignore[attr-defined]
    build_type_tester.original = build  # type: ignore[attr-defined]
    agate_helper.build_type_tester = build_type_tester


def compile_macro_templates(manifest: Any) -> None:
    """Compile every macro of `manifest` into dbt's process-wide Jinja template cache.

    dbt compiles a macro's Jinja source into a template the first time a process calls the macro,
    and keeps it for the life of the process (dbt_common.clients.jinja.template_cache, keyed by the
    macro's source text, so an edited macro is compiled anew). A forked dbt task starts with an
    empty cache unless its parent filled it: the compiles were ~100 of 800 py-spy samples of a
    nightly build's dbt Python. All ~550 macros (the adapter's too) take ~1.2 s once per worker."""
    from dbt_common.clients.jinja import template_cache

    for macro in manifest.macros.values():
        template_cache.get_node_template(macro)
