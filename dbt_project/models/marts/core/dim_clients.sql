{{
    config(
        materialized=key_replacing_materialization(),
        incremental_strategy='delete+insert',
        unique_key='client_id',
        on_schema_change='append_new_columns',
    )
}}

-- depends_on: {{ source('drop', 'run_context') }}

-- Incremental: a bank sends a full client extract (a million rows) now and then, not
-- daily; a run without a new clients.csv has nothing to do here.

with

clients as (

    select * from {{ ref('stg_drop__clients') }}
    where
        client_id is not null
    {% if is_incremental() %}
        and (
            drop_date > (select max(known_since_drop) from {{ this }})
            or drop_date = {{ run_date() }}
        )
    {% endif %}

),

{% if is_incremental() %}
known_clients as (

    select
        client_id,
        known_since_drop
    from {{ this }}

),
{% endif %}

-- A drop without clients.csv changes nothing: each client keeps the row of the
-- latest drop that listed them.
latest as (

    select
        *,
        row_number() over (partition by client_id order by drop_date desc) as recency
    from clients

),

final as (

    select
        latest.client_id,
        latest.first_name,
        latest.last_name,
        latest.email,
        case when latest.language in ('de', 'en') then latest.language else 'de' end as language,
        latest.advisor_id,
        coalesce(latest.notify_opt_in, false) as notify_opt_in,
        {{ is_valid_email('latest.email') }} as has_valid_email,
        latest.drop_date as known_since_drop
    from latest
    {% if is_incremental() %}
    -- Running an older day again must not undo what a newer drop said.
        left join known_clients
            on latest.client_id = known_clients.client_id
    {% endif %}
    where
        latest.recency = 1
    {% if is_incremental() %}
        and (known_clients.known_since_drop is null or known_clients.known_since_drop <= latest.drop_date)
    {% endif %}

)

select * from final
