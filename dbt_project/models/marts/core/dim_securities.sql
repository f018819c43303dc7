with

rating_history as (

    select * from {{ ref('int_ratings_historized') }}

),

-- The current state of research coverage per ISIN: its latest publication.
latest as (

    select
        *,
        row_number() over (
            partition by isin order by rated_at desc, drop_date desc, rating_event_id desc
        ) as recency
    from rating_history

),

final as (

    select
        isin,
        security_name,
        rating_code as current_rating,
        rated_at as last_rated_at,
        target_price,
        currency,
        analyst
    from latest
    where recency = 1

)

select * from final
