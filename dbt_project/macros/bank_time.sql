{#
    A ledger timestamp (sent_at: stored without zone, in the warehouse session's time
    zone) as the bank's wall-clock time in Europe/Berlin, the frame of an intraday
    batch's delivery time (its HHMMSS folder). Spark's session runs in UTC (profiles.yml).
#}
{% macro bank_time(expression) -%}
    {{ return(adapter.dispatch('bank_time', 'votum')(expression)) }}
{%- endmacro %}

{% macro default__bank_time(expression) -%}
    timezone('Europe/Berlin', cast({{ expression }} as timestamptz))
{%- endmacro %}

{% macro postgres__bank_time(expression) -%}
    (cast({{ expression }} as timestamptz) at time zone 'Europe/Berlin')
{%- endmacro %}

{% macro spark__bank_time(expression) -%}
    from_utc_timestamp({{ expression }}, 'Europe/Berlin')
{%- endmacro %}

{#
    An intraday email's batch (HHMMSS) from its ledger key kind:YYYY-MM-DD:HHMMSS:recipient.
#}
{% macro batch_of_message_key(message_key, kind) -%}
    substring({{ message_key }}, length({{ kind }}) + 13, 6)
{%- endmacro %}

{#
    The batch's delivery: its HHMMSS on its business day, bank time (Europe/Berlin).
#}
{% macro batch_delivered_at(business_day, batch_id) -%}
    {{ dbt.dateadd(
        'second',
        'cast(substring(' ~ batch_id ~ ', 1, 2) as integer) * 3600'
        ~ ' + cast(substring(' ~ batch_id ~ ', 3, 2) as integer) * 60'
        ~ ' + cast(substring(' ~ batch_id ~ ', 5, 2) as integer)',
        'cast(' ~ business_day ~ ' as timestamp)',
    ) }}
{%- endmacro %}
