with

source as (

    select * from {{ source('drop', 'business_calendar') }}

),

renamed as (

    select
        calendar_date,
        is_business_day,
        business_day_index,
        holiday
    from source

)

select * from renamed
