{#
    One row per published object across platforms (Facebook posts, Instagram media): its metadata
    and the platform day it was published on. published_platform_date is the Pacific platform day
    (the day semantics of every daily fact, so posts_published lines up with views and
    engagements of that metric_date); the Europe/Stockholm local time used for weekday x hour
    analysis is derived in fct_post_performance.
#}

with

facebook_posts as (

    select * from {{ ref('stg_facebook__posts') }}

),

instagram_media as (

    select * from {{ ref('stg_instagram__media') }}

),

unioned as (

    select
        platform,
        account_id,
        'post' as object_type,
        post_id as object_id,
        content_type,
        product_type,
        permalink,
        caption,
        published_at,
        observed_at,
        last_loaded_at
    from facebook_posts
    union all
    select
        platform,
        account_id,
        'media' as object_type,
        media_id as object_id,
        content_type,
        product_type,
        permalink,
        caption,
        published_at,
        observed_at,
        last_loaded_at
    from instagram_media

),

final as (

    select
        *,
        {{ pacific_date('published_at') }} as published_platform_date
    from unioned

)

select * from final
