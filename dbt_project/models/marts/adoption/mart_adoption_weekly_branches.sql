with

alerts as (

    select * from {{ ref('int_alerts_weekly') }}

),

advisor_weeks as (

    select * from {{ ref('mart_adoption_weekly') }}

),

baseline as (

    select * from {{ ref('int_baseline_weekly') }}

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

intraday_emails as (

    select * from {{ ref('int_intraday_emails_weekly') }}

),

-- Minutes from an intraday batch's delivery to the client email's acceptance by the mail
-- server, over the branch's intraday emails of the week.
intraday_totals as (

    select
        week_start, branch,
        count(*) as intraday_emails,
        {{ median('minutes_to_inbox') }} as median_minutes_to_inbox
    from intraday_emails
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
        sum(informed_within_one_day) as informed_within_one_day,
        sum(follow_up_volume_eur) as follow_up_volume_eur,
        sum(follow_up_fee_eur) as follow_up_fee_eur,
        sum(follow_up_volume_without_fee_eur) as follow_up_volume_without_fee_eur
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
        end as clients_informed_within_one_day,
        cast(sums.follow_up_volume_eur as decimal(18, 2)) as follow_up_volume_eur,
        cast(sums.follow_up_fee_eur as decimal(18, 2)) as follow_up_fee_eur,
        cast(sums.follow_up_volume_without_fee_eur as decimal(18, 2))
            as follow_up_volume_without_fee_eur,
        coalesce(baseline.baseline_positions, 0) as baseline_positions,
        coalesce(baseline.baseline_clients, 0) as baseline_clients,
        coalesce(baseline.baseline_traded_positions, 0) as baseline_traded_positions,
        -- The trades expected without an alert: the baseline's trade rate times the alerts.
        case
            when baseline.baseline_positions > 0
                then
                    cast(baseline.baseline_traded_positions as {{ type_double() }})
                    / baseline.baseline_positions
                    * sums.alerts
        end as expected_follow_up_trades,
        coalesce(intraday_totals.intraday_emails, 0) as intraday_emails,
        cast(intraday_totals.median_minutes_to_inbox as {{ type_double() }})
            as median_minutes_to_inbox
    from sums
    left join alert_totals
        on sums.week_start = alert_totals.week_start and sums.branch = alert_totals.branch
    left join baseline
        on sums.week_start = baseline.week_start and sums.branch = baseline.branch
    left join intraday_totals
        on sums.week_start = intraday_totals.week_start and sums.branch = intraday_totals.branch

)

select * from final
