with

source as (

    select * from {{ source('drop', 'advisors') }}

),

renamed as (

    select
        advisor_id,
        trim(name) as advisor_name,
        nullif(trim(email), '') as email,
        trim(branch) as branch,
        nullif(trim(manager_email), '') as manager_email,
        _drop_date as drop_date,
        _source_file as source_file
    from source

)

select * from renamed
