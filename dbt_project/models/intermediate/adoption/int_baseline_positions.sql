{{
    config(
        materialized='view',
        tags=['baseline'],
    )
}}

-- The baseline of the follow-up trades: what clients trade without an alert.
--
-- A baseline position is a client's position (quantity above zero in that business
-- day's holdings snapshot) in a security that had a research rating by that day and
-- whose rating did not change (no upgrade or downgrade) from the tenth calendar day
-- before through the tenth calendar day after it: no alert on that security can have
-- moved the client within the window. It is traded when the client traded that
-- security within the same window an alert has: from the day's start through the
-- tenth calendar day after it.
--
-- The holdings snapshots are kept for VOTUM_HOLDINGS_RETENTION_DROPS drops only: older
-- days have no baseline positions (the report then says "not enough data").
--
-- A view, and tagged `baseline`: a position-day per held position (about ten million a
-- day at a large bank) is only ever counted, by int_baseline_weekly, which the weekly
-- report's build refreshes. The daily build leaves both alone once they exist.

with

holdings as (

    select * from {{ ref('stg_drop__holdings') }}

),

ratings as (

    select * from {{ ref('int_ratings_historized') }}

),

rating_changes as (

    select * from {{ ref('fct_rating_changes') }}

),

transactions as (

    select * from {{ ref('stg_drop__transactions') }}

),

clients as (

    select * from {{ ref('dim_clients') }}

),

advisors as (

    select * from {{ ref('dim_advisors') }}

),

rated_securities as (

    select
        isin,
        min(drop_date) as rated_since
    from ratings
    group by isin

),

changes as (

    select distinct
        isin,
        business_day
    from rating_changes
    where change_type in ('upgrade', 'downgrade')

),

held_positions as (

    select
        holdings.snapshot_date as business_day,
        holdings.client_id,
        holdings.isin
    from holdings
    inner join rated_securities
        on
            holdings.isin = rated_securities.isin
            and holdings.snapshot_date >= rated_securities.rated_since
    where holdings.client_id is not null
    group by holdings.snapshot_date, holdings.client_id, holdings.isin
    having sum(holdings.quantity) > 0

),

unchanged_positions as (

    select held_positions.*
    from held_positions
    left join changes
        on
            held_positions.isin = changes.isin
            and changes.business_day >= {{ dbt.dateadd('day', -10, 'held_positions.business_day') }}
            and changes.business_day <= {{ dbt.dateadd('day', 10, 'held_positions.business_day') }}
    where changes.isin is null

),

traded_positions as (

    select distinct
        unchanged_positions.business_day,
        unchanged_positions.client_id,
        unchanged_positions.isin
    from unchanged_positions
    inner join transactions
        on
            unchanged_positions.client_id = transactions.client_id
            and unchanged_positions.isin = transactions.isin
            and transactions.executed_at >= cast(unchanged_positions.business_day as timestamp)
            and transactions.executed_at
            < cast({{ dbt.dateadd('day', 11, 'unchanged_positions.business_day') }} as timestamp)

),

final as (

    select
        unchanged_positions.business_day,
        cast({{ dbt.date_trunc('week', 'unchanged_positions.business_day') }} as date) as week_start,
        unchanged_positions.client_id,
        unchanged_positions.isin,
        coalesce(advisors.branch, 'ohne Filiale') as branch,
        traded_positions.client_id is not null as traded
    from unchanged_positions
    left join traded_positions
        on
            unchanged_positions.business_day = traded_positions.business_day
            and unchanged_positions.client_id = traded_positions.client_id
            and unchanged_positions.isin = traded_positions.isin
    left join clients
        on unchanged_positions.client_id = clients.client_id
    left join advisors
        on clients.advisor_id = advisors.advisor_id

)

select * from final
