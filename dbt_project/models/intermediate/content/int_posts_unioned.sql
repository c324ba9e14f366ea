{#
    One row per published object across platforms (Facebook posts, Instagram media): its metadata
    and the platform day it was published on. published_platform_date is the Pacific platform day
    (the day semantics of every daily fact, so posts_published lines up with views and
    engagements of that metric_date); the Europe/Stockholm local time used for weekday x hour
    analysis is derived in fct_post_performance.
#}

with

unioned as (

    {{ posts_and_media(ref('stg_facebook__posts'), ref('stg_instagram__media'), [
        'content_type', 'product_type', 'permalink', 'caption', 'published_at', 'observed_at',
        'last_loaded_at',
    ]) }}

),

final as (

    select
        *,
        {{ pacific_date('published_at') }} as published_platform_date
    from unioned

)

select * from final
