{#
    Incremental models here are rebuilt one business day at a time. The day being run
    is not a dbt var (a var that changes every day would make dbt re-parse the whole
    project on every run): `votum run` writes it to raw.run_context just before
    `dbt build`, and the SQL reads it from there. The run's rows are deleted first
    (pre-hook), then rebuilt together with any day the model has not seen yet, so
    running a day twice replaces that day's rows, even when its input shrank to nothing.
#}
{% macro run_date() -%}
    (select max(run_date) from {{ source('drop', 'run_context') }})
{%- endmacro %}

{% macro delete_run_day(column) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ column }} = {{ run_date() }}
    {%- endif -%}
{%- endmacro %}

{% macro is_day_to_build(column) -%}
    (
        {{ column }} not in (select distinct {{ column }} from {{ this }})
        or {{ column }} = {{ run_date() }}
    )
{%- endmacro %}
