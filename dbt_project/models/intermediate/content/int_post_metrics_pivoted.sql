{#
    One row per published object with lifetime insights: the latest lifetime-to-date value of each
    metric (each metric's own latest snapshot day, so a metric that stopped being delivered keeps
    its last value), pivoted. metric_date is the latest snapshot day of any of its metrics.
    Lifetime values are never summed across days.

    Recipe per platform:
      column       facebook post                          instagram media
      views        post_media_view                        views
      reach        post_total_media_view_unique           reach
      reactions    sum of post_reactions_by_type_total    -
                   over reaction types
      likes        -                                      likes
      comments     -                                      comments
      shares       -                                      shares
      saves        -                                      saved
      clicks       post_clicks                            -
      engagements  reactions + clicks (the post insights  total_interactions, else likes +
                   we fetch carry no comments/shares)     comments + shares + saves

    Incremental (delete+insert on platform, object_type, object_id): a run re-pivots only the
    objects with an insight a load touched after the model's newest last_loaded_at.
#}
{{ config(
    materialized='incremental',
    unique_key=['platform', 'object_type', 'object_id'],
) }}
{%- set watermark = incremental_watermark('last_loaded_at') %}

{#- The lifetime insights of posts and media on one vocabulary, optionally filtered (each read
    of it is filtered on its own: a shared CTE would be materialised over every post). #}
{%- set unioned_sql = posts_and_media(
    ref('stg_facebook__post_insights'),
    ref('stg_instagram__media_insights'),
    [
        'metric_name', 'dimension_value', 'metric_date', 'observed_at', 'last_loaded_at',
        'metric_value',
    ],
    where="period = 'lifetime'{filter}",
) %}

with
{%- if watermark is not none %}

touched_objects as (

    select distinct platform, object_type, object_id
    from ({{ unioned_sql | replace('{filter}', ' and last_loaded_at > ' ~ watermark) }})

),
{%- endif %}

latest_values as (

    select * from ({{ unioned_sql | replace('{filter}', '') }})
    {%- if watermark is not none %}
    semi join touched_objects
        using (platform, object_type, object_id)
    {%- endif %}
    qualify rank() over (
        partition by platform, object_type, object_id, metric_name
        order by metric_date desc
    ) = 1

),

pivoted as (

    select
        platform,
        account_id,
        object_type,
        object_id,
        max(metric_date) as metric_date,
        max(observed_at) as observed_at,
        max(last_loaded_at) as last_loaded_at,
        cast(sum(metric_value) filter (
            where metric_name in ('post_media_view', 'views')
        ) as bigint) as views,
        cast(sum(metric_value) filter (
            where metric_name in ('post_total_media_view_unique', 'reach')
        ) as bigint) as reach,
        cast(sum(metric_value) filter (
            where metric_name = 'post_reactions_by_type_total'
        ) as bigint) as reactions,
        cast(sum(metric_value) filter (where metric_name = 'likes') as bigint) as likes,
        cast(sum(metric_value) filter (where metric_name = 'comments') as bigint) as comments,
        cast(sum(metric_value) filter (where metric_name = 'shares') as bigint) as shares,
        cast(sum(metric_value) filter (where metric_name = 'saved') as bigint) as saves,
        cast(sum(metric_value) filter (where metric_name = 'post_clicks') as bigint) as clicks,
        cast(sum(metric_value) filter (
            where metric_name = 'total_interactions'
        ) as bigint) as total_interactions
    from latest_values
    group by platform, account_id, object_type, object_id

),

final as (

    select
        {# total_interactions (Instagram's own total) only feeds engagements #}
        * exclude (total_interactions),
        case
            when platform = 'facebook'
                and (reactions is not null or clicks is not null)
                then coalesce(reactions, 0) + coalesce(clicks, 0)
            when platform = 'instagram'
                then coalesce(
                    total_interactions,
                    case
                        when likes is not null or comments is not null
                            or shares is not null or saves is not null
                            then coalesce(likes, 0) + coalesce(comments, 0)
                                + coalesce(shares, 0) + coalesce(saves, 0)
                    end
                )
        end as engagements
    from pivoted

)

select * from final
{{ clustered_by_day() }}
