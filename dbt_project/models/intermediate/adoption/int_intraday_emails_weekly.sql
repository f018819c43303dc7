with

ledger as (

    select * from {{ ref('stg_ops__delivery_ledger') }}

),

-- The client's alert of that day (an intraday email always has one): its advisor's
-- branch. Built with the adoption marts after the day's sending (fct_alerts+).
alerts as (

    select * from {{ ref('int_alerts_weekly') }}

),

-- Each intraday email the mail server accepted, with its batch (HHMMSS in the key).
intraday_emails as (

    select
        message_key,
        recipient_id as client_id,
        business_day,
        {{ batch_of_message_key('message_key', 'kind') }} as batch_id,
        {{ bank_time('sent_at') }} as accepted_at
    from ledger
    where kind = 'client_intraday' and status = 'sent'

),

delivered as (

    select
        intraday_emails.*,
        {{ batch_delivered_at('intraday_emails.business_day', 'intraday_emails.batch_id') }}
            as delivered_at
    from intraday_emails

),

final as (

    select
        delivered.message_key,
        delivered.client_id,
        delivered.business_day,
        delivered.batch_id,
        delivered.delivered_at,
        delivered.accepted_at,
        -- From the batch's delivery (its folder's time) to the server's acceptance.
        cast(
            {{ dbt.datediff('delivered.delivered_at', 'delivered.accepted_at', 'second') }}
            as {{ type_double() }}
        ) / 60.0 as minutes_to_inbox,
        cast({{ dbt.date_trunc('week', 'delivered.business_day') }} as date) as week_start,
        coalesce(alerts.branch, 'ohne Filiale') as branch
    from delivered
    left join alerts
        on
            delivered.client_id = alerts.client_id
            and delivered.business_day = alerts.business_day

)

select * from final
