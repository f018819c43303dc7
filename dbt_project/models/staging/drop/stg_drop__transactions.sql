with

source as (

    select * from {{ source('drop', 'transactions') }}

),

renamed as (

    select
        transaction_id,
        client_id,
        isin,
        lower(trim(side)) as side,
        cast(quantity as decimal(18, 4)) as quantity,
        cast(price_eur as decimal(18, 4)) as price_eur,
        -- The commission charged, where the drop gives it (optional column).
        cast(fee_eur as decimal(18, 2)) as fee_eur,
        {{ parse_timestamp('executed_at') }} as executed_at,
        _drop_date as drop_date,
        _source_file as source_file
    from source

)

select * from renamed
