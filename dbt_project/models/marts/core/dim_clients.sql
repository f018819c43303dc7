with

clients as (

    select * from {{ ref('stg_drop__clients') }}

),

-- A drop without clients.csv changes nothing: each client keeps the row of the
-- latest drop that listed them.
latest as (

    select
        *,
        row_number() over (partition by client_id order by drop_date desc) as recency
    from clients
    where client_id is not null

),

final as (

    select
        client_id,
        first_name,
        last_name,
        email,
        case when language in ('de', 'en') then language else 'de' end as language,
        advisor_id,
        coalesce(notify_opt_in, false) as notify_opt_in,
        {{ is_valid_email('email') }} as has_valid_email,
        drop_date as known_since_drop
    from latest
    where recency = 1

)

select * from final
