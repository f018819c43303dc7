{{ config(contract={'enforced': true}) }}

with

alerts as (

    select * from {{ ref('int_alerts_weekly') }}

),

activities as (

    select * from {{ ref('int_activities_weekly') }}

),

alert_figures as (

    select
        week_start,
        branch,
        advisor_id,
        count(*) as alerts,
        count(*) filter (where follow_up_status = 'followed_up') as followed_up_within_sla,
        count(*) filter (where follow_up_status = 'missed') as missed,
        count(*) filter (where follow_up_status = 'open') as open_alerts,
        {{ median('hours_to_contact') }} as median_hours_to_contact,
        count(*) filter (where has_follow_up_trade) as follow_up_trades,
        count(*) filter (where informed_within_one_day) as informed_within_one_day,
        sum(follow_up_volume_eur) as follow_up_volume_eur,
        sum(follow_up_fee_eur) as follow_up_fee_eur,
        sum(follow_up_volume_without_fee_eur) as follow_up_volume_without_fee_eur
    from alerts
    where advisor_id is not null
    group by week_start, branch, advisor_id

),

-- Advisors with activities but no alert in a week are in the mart too (0 alerts).
advisor_weeks as (

    select
        week_start,
        branch,
        advisor_id
    from alert_figures
    union
    select
        week_start,
        branch,
        advisor_id
    from activities

),

final as (

    select
        advisor_weeks.week_start,
        advisor_weeks.branch,
        advisor_weeks.advisor_id,
        coalesce(alert_figures.alerts, 0) as alerts,
        coalesce(alert_figures.followed_up_within_sla, 0) as followed_up_within_sla,
        -- Followed up over the alerts whose outcome is known: open windows do not count
        -- as missed.
        case
            when coalesce(alert_figures.followed_up_within_sla, 0) + coalesce(alert_figures.missed, 0) > 0
                then
                    cast(alert_figures.followed_up_within_sla as {{ type_double() }})
                    / (alert_figures.followed_up_within_sla + alert_figures.missed)
        end as adoption_rate,
        cast(alert_figures.median_hours_to_contact as {{ type_double() }}) as median_hours_to_contact,
        coalesce(alert_figures.follow_up_trades, 0) as follow_up_trades,
        coalesce(activities.activities_logged, 0) as activities_logged,
        coalesce(alert_figures.missed, 0) as missed,
        coalesce(alert_figures.open_alerts, 0) as open_alerts,
        coalesce(alert_figures.informed_within_one_day, 0) as informed_within_one_day,
        cast(coalesce(alert_figures.follow_up_volume_eur, 0) as decimal(18, 2))
            as follow_up_volume_eur,
        cast(coalesce(alert_figures.follow_up_fee_eur, 0) as decimal(18, 2)) as follow_up_fee_eur,
        cast(coalesce(alert_figures.follow_up_volume_without_fee_eur, 0) as decimal(18, 2))
            as follow_up_volume_without_fee_eur
    from advisor_weeks
    left join alert_figures
        on
            advisor_weeks.week_start = alert_figures.week_start
            and advisor_weeks.advisor_id = alert_figures.advisor_id
            and advisor_weeks.branch = alert_figures.branch
    left join activities
        on
            advisor_weeks.week_start = activities.week_start
            and advisor_weeks.advisor_id = activities.advisor_id
            and advisor_weeks.branch = activities.branch

)

select * from final
