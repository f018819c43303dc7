with

source as (

    select * from {{ source('drop', 'drop_files') }}

),

renamed as (

    select
        drop_date,
        file_kind,
        file_name,
        file_format,
        sha256,
        size_bytes,
        rows_loaded,
        rows_rejected,
        loaded_at
    from source

)

select * from renamed
