with

source as (

    select * from {{ source('drop', 'suppression_list') }}

),

renamed as (

    select
        lower(trim(email)) as email,
        {{ parse_timestamp('suppressed_at') }} as suppressed_at,
        reason,
        source as suppression_source
    from source

)

select * from renamed
