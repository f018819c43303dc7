with

source as (

    select * from {{ source('ops', 'delivery_ledger') }}

),

renamed as (

    select
        message_key,
        kind,
        business_day,
        recipient_id,
        status,
        sent_at
    from source

)

select * from renamed
