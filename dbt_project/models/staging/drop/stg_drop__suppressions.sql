with

source as (

    select * from {{ source('drop', 'suppressions') }}

),

renamed as (

    select
        lower(trim(email)) as email,
        {{ parse_timestamp('suppressed_at') }} as suppressed_at,
        trim(reason) as reason,
        _drop_date as drop_date,
        _source_file as source_file
    from source

)

select * from renamed
