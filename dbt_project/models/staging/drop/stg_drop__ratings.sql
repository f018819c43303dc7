with

source as (

    select * from {{ source('drop', 'ratings') }}

),

renamed as (

    select
        isin,
        trim(security_name) as security_name,
        rating as rating_label,
        {{ parse_timestamp('rated_at') }} as rated_at,
        -- As written in the file: `votum explain` finds the row's line by it.
        rated_at as rated_at_as_delivered,
        trim(analyst) as analyst,
        cast(target_price as decimal(18, 4)) as target_price,
        upper(trim(currency)) as currency,
        _drop_date as drop_date,
        _source_file as source_file,
        -- The intraday batch (its delivery time HHMMSS) that delivered the row; null for
        -- the morning drop.
        _batch as batch_id
    from source

)

select * from renamed
