{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        partition_by=day_partition('drop_date'),
        on_schema_change='append_new_columns',
        pre_hook="{{ delete_run_day('drop_date') }}",
    )
}}

-- depends_on: {{ source('drop', 'run_context') }}

with

ratings as (

    select * from {{ ref('stg_drop__ratings') }}
    {% if is_incremental() %}
    where {{ is_day_to_build('drop_date') }}
    {% endif %}

),

rating_labels as (

    select * from {{ ref('rating_labels') }}

),

rating_scale as (

    select * from {{ ref('rating_scale') }}

),

recognised as (

    select
        ratings.isin,
        ratings.security_name,
        ratings.rating_label,
        rating_labels.rating_code,
        rating_scale.rating_rank,
        ratings.rated_at,
        ratings.analyst,
        ratings.target_price,
        ratings.currency,
        ratings.drop_date,
        ratings.rated_at_as_delivered,
        ratings.source_file,
        ratings.batch_id
    from ratings
    inner join rating_labels
        on {{ normalize_label('ratings.rating_label') }} = rating_labels.label
    inner join rating_scale
        on rating_labels.rating_code = rating_scale.rating_code
    where
        ratings.isin is not null
        and ratings.rated_at is not null

),

-- One publication per ISIN, time and drop: a file that states two ratings for the same
-- ISIN at the same moment is a file fault (the quality gate stops it); should one slip
-- through, the worse rating is kept, the cautious reading for a client.
deduplicated as (

    select
        *,
        row_number() over (
            partition by isin, rated_at, drop_date
            order by rating_rank desc
        ) as publication_number
    from recognised

),

final as (

    select
        {{ surrogate_key(['isin', 'rated_at', 'drop_date']) }} as rating_event_id,
        isin,
        security_name,
        rating_label,
        rating_code,
        rating_rank,
        rated_at,
        analyst,
        target_price,
        currency,
        drop_date,
        rated_at_as_delivered,
        source_file,
        batch_id
    from deduplicated
    where publication_number = 1

)

select * from final
