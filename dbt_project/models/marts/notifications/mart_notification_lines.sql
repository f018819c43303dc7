{{ config(materialized='view') }}

-- Everything an email needs about one affected client position, one row per client,
-- change and business day. A view: `votum run` reads one business day of it when it
-- plans the day's emails, so nothing is stored twice.

with

client_changes as (

    select * from {{ ref('fct_client_rating_changes') }}

),

rating_changes as (

    select * from {{ ref('fct_rating_changes') }}

),

clients as (

    select * from {{ ref('dim_clients') }}

),

advisors as (

    select * from {{ ref('dim_advisors') }}

),

rating_scale as (

    select * from {{ ref('rating_scale') }}

),

final as (

    select
        client_changes.business_day,
        client_changes.client_id,
        client_changes.change_id,
        client_changes.isin,
        rating_changes.security_name,
        client_changes.change_type,
        client_changes.previous_rating,
        previous_scale.label_de as previous_label_de,
        previous_scale.label_en as previous_label_en,
        client_changes.new_rating,
        new_scale.label_de as new_label_de,
        new_scale.label_en as new_label_en,
        client_changes.changed_on,
        rating_changes.rated_at,
        rating_changes.previous_rated_at,
        rating_changes.target_price,
        rating_changes.currency,
        rating_changes.analyst,
        client_changes.quantity,
        client_changes.market_value_eur,
        client_changes.portfolio_weight,
        client_changes.notify_eligible,
        client_changes.ineligible_reason,
        clients.first_name,
        clients.last_name,
        clients.email,
        coalesce(clients.language, 'de') as language,
        client_changes.advisor_id,
        advisors.advisor_name,
        advisors.email as advisor_email,
        advisors.branch,
        client_changes.batch_id
    from client_changes
    inner join rating_changes
        on client_changes.change_id = rating_changes.change_id
    left join clients
        on client_changes.client_id = clients.client_id
    left join advisors
        on client_changes.advisor_id = advisors.advisor_id
    left join rating_scale as previous_scale
        on client_changes.previous_rating = previous_scale.rating_code
    left join rating_scale as new_scale
        on client_changes.new_rating = new_scale.rating_code

)

select * from final
