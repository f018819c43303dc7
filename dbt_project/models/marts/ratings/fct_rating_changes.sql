{{ config(contract={'enforced': true}) }}

with

rating_history as (

    select * from {{ ref('int_ratings_historized') }}

),

-- Per ISIN, publications in the order research made them: by rating time, then by the
-- drop that delivered them (a later drop corrects an earlier one), then within a day the
-- morning drop before the day's intraday batches, the batches by delivery time.
ordered_history as (

    select
        *,
        coalesce(batch_id, '') as batch_order
    from rating_history

),

sequenced as (

    select
        *,
        lag(rating_code) over (
            partition by isin order by rated_at, drop_date, batch_order, rating_event_id
        ) as previous_rating,
        lag(rating_rank) over (
            partition by isin order by rated_at, drop_date, batch_order, rating_event_id
        ) as previous_rating_rank,
        lag(rated_at) over (
            partition by isin order by rated_at, drop_date, batch_order, rating_event_id
        ) as previous_rated_at,
        lag(target_price) over (
            partition by isin order by rated_at, drop_date, batch_order, rating_event_id
        ) as previous_target_price,
        -- Lineage of the previous publication: its key, drop, file and label as delivered.
        lag(rating_event_id) over (
            partition by isin order by rated_at, drop_date, batch_order, rating_event_id
        ) as previous_rating_event_id,
        lag(drop_date) over (
            partition by isin order by rated_at, drop_date, batch_order, rating_event_id
        ) as previous_drop_date,
        lag(source_file) over (
            partition by isin order by rated_at, drop_date, batch_order, rating_event_id
        ) as previous_source_file,
        lag(rating_label) over (
            partition by isin order by rated_at, drop_date, batch_order, rating_event_id
        ) as previous_rating_label
    from ordered_history

),

-- A repeated identical rating is no change; the first rating of an ISIN is an
-- initiation.
changes as (

    select
        *,
        case
            when previous_rating is null then 'initiation'
            when rating_rank < previous_rating_rank then 'upgrade'
            else 'downgrade'
        end as change_type
    from sequenced
    where previous_rating is null or rating_code <> previous_rating

),

final as (

    select
        rating_event_id as change_id,
        isin,
        security_name,
        previous_rating,
        rating_code as new_rating,
        change_type,
        cast(rated_at as date) as changed_on,
        target_price,
        rated_at,
        previous_rated_at,
        previous_target_price,
        previous_rating_rank,
        rating_rank as new_rating_rank,
        analyst,
        currency,
        drop_date as business_day,
        source_file,
        rating_label,
        previous_rating_event_id,
        previous_drop_date,
        previous_source_file,
        previous_rating_label,
        batch_id
    from changes

)

select * from final
