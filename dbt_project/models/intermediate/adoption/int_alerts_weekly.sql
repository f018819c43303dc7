with

alerts as (

    select * from {{ ref('fct_alerts') }}

),

advisors as (

    select * from {{ ref('dim_advisors') }}

),

final as (

    select
        alerts.alert_id,
        alerts.client_id,
        alerts.business_day,
        alerts.advisor_id,
        alerts.follow_up_status,
        alerts.hours_to_contact,
        alerts.has_follow_up_trade,
        alerts.informed_within_one_day,
        alerts.follow_up_volume_eur,
        alerts.follow_up_fee_eur,
        alerts.follow_up_volume_without_fee_eur,
        cast({{ dbt.date_trunc('week', 'alerts.business_day') }} as date) as week_start,
        coalesce(advisors.branch, 'ohne Filiale') as branch
    from alerts
    left join advisors
        on alerts.advisor_id = advisors.advisor_id

)

select * from final
