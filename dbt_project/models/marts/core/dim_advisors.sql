with

advisors as (

    select * from {{ ref('stg_drop__advisors') }}

),

-- A drop without advisors.csv changes nothing: each advisor keeps the row of the
-- latest drop that listed them.
latest as (

    select
        *,
        row_number() over (partition by advisor_id order by drop_date desc) as recency
    from advisors
    where advisor_id is not null

),

final as (

    select
        advisor_id,
        advisor_name,
        email,
        branch,
        manager_email,
        drop_date as known_since_drop
    from latest
    where recency = 1

)

select * from final
