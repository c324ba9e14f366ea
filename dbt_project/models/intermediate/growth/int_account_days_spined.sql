{#
    One row per platform x account x calendar day, from the account's first to its last observed
    day (any daily insight or follower snapshot, every platform). Days inside that range with no
    observation at all are kept, so every daily model downstream is dense: windows over "the last
    N days" are calendar windows, and a missing day shows up as NULL flows instead of silently
    shortening a window.

    Incremental (append): observed days only ever widen an account's range, so a run takes the
    days observed since the model's watermark (loaded_through_at, minus var
    observation_lookback_hours of slack) and appends, per account, the days between them and the
    range already held. Readers get a stored table instead of re-deriving the ranges from every
    observation.
#}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
) }}
{%- set watermark = incremental_watermark() %}

{%- set daily_inputs = [
    ('stg_facebook__page_insights', "period = 'day'"),
    ('stg_facebook__page_snapshots', 'true'),
    ('stg_instagram__account_insights', "period = 'day'"),
    ('stg_instagram__account_snapshots', 'true'),
    ('stg_youtube__channel_daily', 'true'),
    ('stg_youtube__channel_snapshots', 'true'),
    ('stg_snapchat__profile_snapshots', 'true'),
] %}

with

{# Every input filtered in its own branch, so the watermark filter reaches each scan. #}
observed_days as (

    {%- for input, condition in daily_inputs %}
    select platform, account_id, metric_date from {{ ref(input) }}
    where {{ condition }}
    {%- if watermark is not none %}
        and last_loaded_at > {{ watermark }} - interval {{ var('observation_lookback_hours') }} hour
    {%- endif %}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}

),

{% if watermark is not none -%}
{# Per touched account, the days observed since the watermark widen the range already held
   (contiguous: the spine only ever grows at its ends); only the days outside it are added. #}
new_ranges as (

    select platform, account_id, min(metric_date) as new_from, max(metric_date) as new_until
    from observed_days
    group by platform, account_id

),

held_ranges as (

    select platform, account_id, min(metric_date) as held_from, max(metric_date) as held_until
    from {{ this }}
    semi join new_ranges
        using (platform, account_id)
    group by platform, account_id

),

account_date_ranges as (

    {# Before the held range (the whole new range for an account new to the spine)... #}
    select
        new_ranges.platform,
        new_ranges.account_id,
        new_ranges.new_from as first_metric_date,
        coalesce(held_ranges.held_from - 1, new_ranges.new_until) as last_metric_date
    from new_ranges
    left join held_ranges
        using (platform, account_id)
    union all
    {# ... and after it (an empty series where the range does not grow). #}
    select
        new_ranges.platform,
        new_ranges.account_id,
        held_ranges.held_until + 1 as first_metric_date,
        new_ranges.new_until as last_metric_date
    from new_ranges
    inner join held_ranges
        using (platform, account_id)

),
{%- else -%}
account_date_ranges as (

    select
        platform,
        account_id,
        min(metric_date) as first_metric_date,
        max(metric_date) as last_metric_date
    from observed_days
    group by platform, account_id

),
{%- endif %}

spined as (

    select
        account_date_ranges.platform,
        account_date_ranges.account_id,
        cast(calendar_day.day_start as date) as metric_date
    from account_date_ranges
    cross join lateral generate_series(
        account_date_ranges.first_metric_date,
        account_date_ranges.last_metric_date,
        interval 1 day
    ) as calendar_day (day_start)

),

final as (

    select
        spined.platform,
        spined.account_id,
        spined.metric_date,
        {{ loaded_through_at() }} as loaded_through_at
    from spined

)

select * from final
{{ clustered_by_day() }}
