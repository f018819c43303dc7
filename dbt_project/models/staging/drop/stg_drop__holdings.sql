with

source as (

    select * from {{ source('drop', 'holdings') }}

),

renamed as (

    select
        client_id,
        isin,
        cast(quantity as decimal(18, 4)) as quantity,
        cast(market_value_eur as decimal(18, 2)) as market_value_eur,
        {{ parse_date('as_of') }} as as_of,
        _drop_date as snapshot_date,
        _source_file as source_file
    from source

)

select * from renamed
