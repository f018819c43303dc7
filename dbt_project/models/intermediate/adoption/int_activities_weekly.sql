with

activities as (

    select * from {{ ref('int_activities_unioned') }}

),

advisors as (

    select * from {{ ref('dim_advisors') }}

),

final as (

    select
        cast({{ dbt.date_trunc('week', 'activities.occurred_at') }} as date) as week_start,
        activities.advisor_id,
        coalesce(advisors.branch, 'ohne Filiale') as branch,
        count(*) as activities_logged
    from activities
    left join advisors
        on activities.advisor_id = advisors.advisor_id
    where activities.advisor_id is not null and activities.occurred_at is not null
    group by
        cast({{ dbt.date_trunc('week', 'activities.occurred_at') }} as date),
        activities.advisor_id,
        coalesce(advisors.branch, 'ohne Filiale')

)

select * from final
