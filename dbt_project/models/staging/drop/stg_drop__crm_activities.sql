with

source as (

    select * from {{ source('drop', 'crm_activities') }}

),

renamed as (

    select
        activity_id,
        advisor_id,
        client_id,
        lower(trim(activity_type)) as activity_type,
        {{ parse_timestamp('occurred_at') }} as occurred_at,
        nullif(trim(isin), '') as isin,
        _drop_date as drop_date,
        _source_file as source_file
    from source

)

select * from renamed
