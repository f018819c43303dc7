{{ config(materialized='view') }}

-- Every rating publication with its display labels: the twelve-month history an email
-- shows beside a passed-on recommendation.

with

rating_history as (

    select * from {{ ref('int_ratings_historized') }}

),

rating_scale as (

    select * from {{ ref('rating_scale') }}

),

final as (

    select
        rating_history.isin,
        rating_history.rated_at,
        rating_history.drop_date,
        rating_history.rating_code,
        rating_scale.label_de,
        rating_scale.label_en,
        rating_history.analyst,
        rating_history.target_price,
        rating_history.currency
    from rating_history
    inner join rating_scale
        on rating_history.rating_code = rating_scale.rating_code

)

select * from final
