with

source as (

    select * from {{ source('drop', 'clients') }}

),

renamed as (

    select
        client_id,
        trim(first_name) as first_name,
        trim(last_name) as last_name,
        nullif(trim(email), '') as email,
        lower(trim(language)) as language,
        advisor_id,
        {{ to_boolean_flag('notify_opt_in') }} as notify_opt_in,
        _drop_date as drop_date,
        _source_file as source_file
    from source

)

select * from renamed
