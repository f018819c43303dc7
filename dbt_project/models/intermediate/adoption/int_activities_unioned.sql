-- A view, not a table: the weekly report rebuilds only `fct_alerts+` and
-- `int_activities_weekly+`, and must see the clicks copied in just before.
{{ config(materialized='view') }}

with

crm_activities as (

    select * from {{ ref('stg_drop__crm_activities') }}

),

worklist_activities as (

    select * from {{ ref('stg_votum__worklist_activities') }}

),

-- Days on which the CRM already has an activity of an advisor for a client.
crm_days as (

    select distinct
        advisor_id,
        client_id,
        cast(occurred_at as date) as activity_day
    from crm_activities
    where occurred_at is not null

),

-- One worklist click per advisor, client and day counts (the earliest), and none where
-- the CRM has an activity of that advisor for that client on that day: an advisor who
-- clicks "called" and logs the call in the CRM did one thing, not two.
worklist_ranked as (

    select
        worklist_activities.*,
        row_number() over (
            partition by
                worklist_activities.advisor_id,
                worklist_activities.client_id,
                cast(worklist_activities.occurred_at as date)
            order by worklist_activities.occurred_at, worklist_activities.activity_id
        ) as click_rank
    from worklist_activities

),

worklist_counted as (

    select worklist_ranked.*
    from worklist_ranked
    left join crm_days
        on
            worklist_ranked.advisor_id = crm_days.advisor_id
            and worklist_ranked.client_id = crm_days.client_id
            and cast(worklist_ranked.occurred_at as date) = crm_days.activity_day
    where worklist_ranked.click_rank = 1 and crm_days.advisor_id is null

),

final as (

    select
        activity_id,
        advisor_id,
        client_id,
        activity_type,
        occurred_at,
        isin,
        -- `source` is the column name of the export for the bank's CRM.
        'crm' as source  -- noqa: RF04
    from crm_activities

    union all

    select
        activity_id,
        advisor_id,
        client_id,
        activity_type,
        occurred_at,
        isin,
        source
    from worklist_counted

)

select * from final
