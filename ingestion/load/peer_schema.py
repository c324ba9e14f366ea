"""Raw tables of the peer snapshots (issue 22), created with the rest of the raw schema.

Why in every warehouse, with or without peers: the dbt peer models read these tables as sources,
and `dbt build` must not fail on a warehouse that has never loaded a peer (an empty table gives
empty marts). Append-only like the other raw tables: a re-run of a night adds newer rows and the
staging models keep the latest per account and day.
"""

from __future__ import annotations

PEER_DDL: tuple[str, ...] = (
    """
    create table if not exists raw.peer_loads (
        load_id varchar primary key,
        run_id varchar not null,
        snapshot_date date not null,
        status varchar not null,          -- committed | quarantined
        accounts_ok integer not null,
        accounts_failed integer not null,
        committed_at timestamptz not null
    )
    """,
    """
    create table if not exists raw.peer_responses (
        response_id varchar not null,
        load_id varchar not null,
        platform varchar not null,        -- facebook | instagram | youtube
        ref varchar not null,             -- username, Page id, channel id or @handle as in the registry
        url varchar,
        params json,
        http_status integer,
        fetched_at timestamptz not null,
        body json
    )
    """,
    """
    create table if not exists raw.peer_snapshots (
        load_id varchar not null,
        run_id varchar not null,
        response_id varchar not null,
        peer_name varchar not null,
        peer_group varchar,
        population bigint,
        platform varchar not null,
        ref varchar not null,
        department varchar,
        account_name varchar,
        snapshot_date date not null,      -- the Pacific day the current counts stand for
        observed_at timestamptz not null,
        followers bigint,                 -- NULL when the owner hides it (YouTube)
        followers_hidden boolean not null,
        followers_rounded boolean not null,  -- YouTube: 3 significant figures
        fan_count bigint,                 -- Facebook Page likes
        media_count bigint,               -- Instagram posts so far
        recent_media integer              -- Instagram: media in the response (the engagement sample)
    )
    """,
    """
    create table if not exists raw.peer_media (
        load_id varchar not null,
        response_id varchar not null,
        ref varchar not null,
        snapshot_date date not null,
        media_id varchar not null,
        published_at timestamptz not null,
        media_product_type varchar,
        like_count bigint,
        comments_count bigint
    )
    """,
    """
    create table if not exists raw.peer_findings (
        run_id varchar not null,
        snapshot_date date not null,
        peer_name varchar,
        platform varchar not null,
        ref varchar not null,
        error_class varchar not null,
        message varchar not null,
        found_at timestamptz not null
    )
    """,
)
