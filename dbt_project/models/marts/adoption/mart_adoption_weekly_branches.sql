with

alerts as (

    select * from {{ ref('int_alerts_weekly') }}

),

advisor_weeks as (

    select * from {{ ref('mart_adoption_weekly') }}

),

-- Medians over the branch's alerts (not a median of advisors' medians).
alert_totals as (

    select
        week_start,
        branch,
        {{ median('hours_to_contact') }} as median_hours_to_contact
    from alerts
    group by week_start, branch

),

sums as (

    select
        week_start,
        branch,
        sum(alerts) as alerts,
        sum(followed_up_within_sla) as followed_up_within_sla,
        sum(missed) as missed,
        sum(open_alerts) as open_alerts,
        sum(follow_up_trades) as follow_up_trades,
        sum(activities_logged) as activities_logged,
        sum(informed_within_one_day) as informed_within_one_day
    from advisor_weeks
    group by week_start, branch

),

final as (

    select
        sums.week_start,
        sums.branch,
        sums.alerts,
        sums.followed_up_within_sla,
        sums.missed,
        sums.open_alerts,
        case
            when sums.followed_up_within_sla + sums.missed > 0
                then
                    cast(sums.followed_up_within_sla as {{ type_double() }})
                    / (sums.followed_up_within_sla + sums.missed)
        end as adoption_rate,
        cast(alert_totals.median_hours_to_contact as {{ type_double() }}) as median_hours_to_contact,
        sums.follow_up_trades,
        sums.activities_logged,
        case
            when sums.alerts > 0
                then cast(sums.informed_within_one_day as {{ type_double() }}) / sums.alerts
        end as clients_informed_within_one_day
    from sums
    left join alert_totals
        on sums.week_start = alert_totals.week_start and sums.branch = alert_totals.branch

)

select * from final
