#!/usr/bin/env bash
# Start Metabase, provision it from code once it is healthy and the first publish exists, then keep
# watching for new publishes (each one triggers a reconnect + schema re-sync; see docs/bi.md).
set -euo pipefail

java ${JAVA_OPTS:-} -jar /home/metabase/metabase.jar &
metabase_pid=$!

(
    python3 /opt/socialpulse-bi/provision.py apply --wait \
        && exec python3 /opt/socialpulse-bi/provision.py watch
) &

# Metabase is the container's life: when it exits, the container exits (and restarts).
wait "$metabase_pid"
