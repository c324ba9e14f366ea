{#
    One row per published object (Facebook post, Instagram media): metadata, the latest lifetime
    metrics, engagement rates and local weekday x hour (all from int_post_performance_unranked),
    and the post's rank within its account and within its department.

    Ranks order by engagements (1 = most), ties share a rank; objects without engagements are not
    ranked, nor are objects without a department in the department ranking.

    A view (issue 21): the ranks span every post of an account / department, so each night's new
    and re-measured posts move many ranks of old posts. Stored in the incremental table, they made
    the nightly re-rank the whole table and update the ranks that moved (a cost that grew with the
    history). Here they are computed when read: the BI copy (ingestion/publish, a CTAS of every
    mart) ranks once per publish, and a reader that does not select a rank does not pay for it
    (DuckDB drops unused window expressions). The view's SQL does not change from night to night,
    so the nightly build leaves it as it is (macros/materialization_view.sql).
#}
{{ config(materialized='view') }}

with

posts as (

    select * from {{ ref('int_post_performance_unranked') }}

),

ranked as (

    select
        posts.* exclude (observed_at, last_loaded_at),

        ---------- ranks
        case
            when engagements is not null
                then cast(rank() over (
                    partition by platform, account_id, engagements is null
                    order by engagements desc
                ) as integer)
        end as rank_in_account,
        case
            when engagements is not null and department is not null
                then cast(rank() over (
                    partition by department, engagements is null
                    order by engagements desc
                ) as integer)
        end as rank_in_department,

        ---------- timestamps
        observed_at,
        last_loaded_at

    from posts

)

select * from ranked
