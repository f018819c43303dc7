{{
    config(
        tags=['baseline'],
    )
}}

-- The baseline per branch and ISO week: how many positions, of how many clients, and
-- how many of those positions were traded within the window (int_baseline_positions).
-- Built by the weekly report's build (and the first daily build), not every day: it
-- reads every kept holdings snapshot, and only the weekly report shows it.

with

positions as (

    select * from {{ ref('int_baseline_positions') }}

),

final as (

    select
        week_start,
        branch,
        count(*) as baseline_positions,
        count(distinct client_id) as baseline_clients,
        sum(case when traded then 1 else 0 end) as baseline_traded_positions
    from positions
    group by week_start, branch

)

select * from final
