{#
    Incremental models here are rebuilt one business day at a time. `votum run` passes
    the day as var('run_date'): its rows are deleted first (pre-hook), then rebuilt
    together with any day the model has not seen yet. Running a day twice therefore
    replaces that day's rows instead of adding to them, even when the day's input
    shrank to nothing.
#}
{% macro delete_run_day(column) -%}
    {%- if is_incremental() and var('run_date') -%}
        delete from {{ this }} where {{ column }} = cast('{{ var("run_date") }}' as date)
    {%- endif -%}
{%- endmacro %}

{% macro is_day_to_build(column) -%}
    (
        {{ column }} not in (select distinct {{ column }} from {{ this }})
        {%- if var('run_date') %}
        or {{ column }} = cast('{{ var("run_date") }}' as date)
        {%- endif %}
    )
{%- endmacro %}
