{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        partition_by=day_partition('business_day'),
        on_schema_change='append_new_columns',
        contract={'enforced': true},
        pre_hook="{{ delete_run_day('business_day') }}",
    )
}}

-- depends_on: {{ source('drop', 'run_context') }}

with

rating_changes as (

    select * from {{ ref('fct_rating_changes') }}
    where
        change_type in ('upgrade', 'downgrade')
    {% if is_incremental() %}
        and {{ is_day_to_build('business_day') }}
    {% endif %}

),

drop_files as (

    select * from {{ ref('stg_drop__drop_files') }}

),

-- The holdings snapshots are read twice, once for the changed securities and once for
-- the affected clients' whole portfolios. Two import CTEs, each used once, let the
-- engine push the filters into each scan instead of materialising 10 million rows.
positions_of_changed_securities as (

    select * from {{ ref('stg_drop__holdings') }}

),

positions_of_affected_clients as (

    select * from {{ ref('stg_drop__holdings') }}

),

clients as (

    select * from {{ ref('dim_clients') }}

),

suppressions as (

    select * from {{ ref('stg_drop__suppression_list') }}

),

holdings_snapshots as (

    select drop_date as snapshot_date
    from drop_files
    where file_kind = 'holdings'

),

-- The spec's rule: a client is affected when the latest holdings snapshot on or before
-- the change's date shows a position. A change older than every snapshot we hold
-- affects no one (we cannot know who held the security then).
change_snapshots as (

    select
        rating_changes.change_id,
        max(holdings_snapshots.snapshot_date) as snapshot_date
    from rating_changes
    inner join holdings_snapshots
        on rating_changes.changed_on >= holdings_snapshots.snapshot_date
    group by rating_changes.change_id

),

changed_securities as (

    select
        rating_changes.*,
        change_snapshots.snapshot_date
    from rating_changes
    inner join change_snapshots
        on rating_changes.change_id = change_snapshots.change_id

),

-- A snapshot should list a position once; should it list one twice, the lines add up.
affected_positions as (

    select
        changed_securities.change_id,
        holdings.snapshot_date,
        holdings.client_id,
        cast(sum(holdings.quantity) as decimal(18, 4)) as quantity,
        cast(sum(holdings.market_value_eur) as decimal(18, 2)) as market_value_eur,
        min(holdings.source_file) as holdings_source_file
    from changed_securities
    inner join positions_of_changed_securities as holdings
        on
            changed_securities.snapshot_date = holdings.snapshot_date
            and changed_securities.isin = holdings.isin
    where holdings.client_id is not null
    group by changed_securities.change_id, holdings.snapshot_date, holdings.client_id
    having sum(holdings.quantity) > 0

),

affected_clients as (

    select distinct
        snapshot_date,
        client_id
    from affected_positions

),

portfolio_values as (

    select
        holdings.snapshot_date,
        holdings.client_id,
        sum(holdings.market_value_eur) as portfolio_value_eur
    from positions_of_affected_clients as holdings
    inner join affected_clients
        on
            holdings.snapshot_date = affected_clients.snapshot_date
            and holdings.client_id = affected_clients.client_id
    where holdings.quantity > 0
    group by holdings.snapshot_date, holdings.client_id

),

suppressed_addresses as (

    select distinct email
    from suppressions
    where email is not null

),

enriched as (

    select
        affected_positions.client_id,
        clients.advisor_id,
        changed_securities.change_id,
        changed_securities.isin,
        changed_securities.security_name,
        changed_securities.previous_rating,
        changed_securities.new_rating,
        changed_securities.change_type,
        changed_securities.changed_on,
        changed_securities.business_day,
        changed_securities.batch_id,
        affected_positions.snapshot_date,
        affected_positions.quantity,
        affected_positions.market_value_eur,
        affected_positions.holdings_source_file,
        case
            when portfolio_values.portfolio_value_eur > 0
                then
                    cast(affected_positions.market_value_eur as {{ type_double() }})
                    / cast(portfolio_values.portfolio_value_eur as {{ type_double() }})
        end as portfolio_weight,
        case
            when clients.client_id is null then 'unknown_client'
            when not clients.notify_opt_in then 'opted_out'
            when clients.email is null then 'no_email'
            when not clients.has_valid_email then 'invalid_email'
            when suppressed_addresses.email is not null then 'suppressed'
        end as ineligible_reason
    from affected_positions
    inner join changed_securities
        on affected_positions.change_id = changed_securities.change_id
    left join portfolio_values
        on
            affected_positions.snapshot_date = portfolio_values.snapshot_date
            and affected_positions.client_id = portfolio_values.client_id
    left join clients
        on affected_positions.client_id = clients.client_id
    left join suppressed_addresses
        on lower(clients.email) = suppressed_addresses.email

),

final as (

    select
        {{ surrogate_key(['client_id', 'change_id']) }} as client_change_id,
        client_id,
        advisor_id,
        change_id,
        isin,
        security_name,
        previous_rating,
        new_rating,
        change_type,
        changed_on,
        business_day,
        snapshot_date,
        quantity,
        market_value_eur,
        portfolio_weight,
        ineligible_reason is null as notify_eligible,
        ineligible_reason,
        holdings_source_file,
        batch_id
    from enriched

)

select * from final
