with

source as (

    select * from {{ source('votum', 'worklist_activities') }}

),

renamed as (

    select
        activity_id,
        advisor_id,
        client_id,
        activity_type,
        cast(occurred_at as timestamp) as occurred_at,
        isin,
        action as worklist_action,
        reason as no_contact_reason,
        cast(alert_day as date) as alert_day,
        source
    from source

)

select * from renamed
