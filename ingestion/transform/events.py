"""dbt's event manager without the events no one reads.

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

from __future__ import annotations

from typing import Any

from dbt_common.events.base_types import BaseEvent, EventLevel
from dbt_common.events.event_manager import EventManager
from dbt_common.events.event_manager_client import ctx_set_event_manager, get_event_manager
from dbt_common.events.logger import _log_level_map

# The lowest level read outside the loggers: the runner's callbacks print info, warn and error
# (runner._PRINTED_LEVELS), dbt's tracking callback reads a warn-level event.
CALLBACK_FLOOR = _log_level_map[EventLevel.INFO]


class LevelGatedEventManager(EventManager):
    """dbt's EventManager that drops an event before building its message when no one reads its level."""

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
    """Make the process's dbt invocations use LevelGatedEventManager (idempotent)."""
    if not isinstance(get_event_manager(), LevelGatedEventManager):
        ctx_set_event_manager(LevelGatedEventManager())
