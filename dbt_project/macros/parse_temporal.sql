{#
    Parse a text date or timestamp as drops write it: ISO (`2026-01-05`,
    `2026-01-05 07:30:00`, `2026-01-05T07:30:00`) or German (`05.01.2026`,
    `05.01.2026 07:30`). Text that is neither becomes null (the quality gate reports
    such rows). Each engine spells "try to parse" differently, hence the dispatch.
#}
{% macro parse_timestamp(expression) -%}
    {{ return(adapter.dispatch('parse_timestamp', 'votum')(expression)) }}
{%- endmacro %}

{% macro default__parse_timestamp(expression) -%}
    coalesce(
        try_cast(trim({{ expression }}) as timestamp),
        try_strptime(trim({{ expression }}), ['%d.%m.%Y %H:%M:%S', '%d.%m.%Y %H:%M', '%d.%m.%Y'])
    )
{%- endmacro %}

{% macro parse_date(expression) -%}
    cast({{ parse_timestamp(expression) }} as date)
{%- endmacro %}
