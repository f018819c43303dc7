{#
    The median of a numeric expression in an aggregate. DuckDB has median(); PostgreSQL
    spells it percentile_cont(0.5) within group (order by ...); Spark has
    percentile(expr, 0.5).
#}
{% macro median(expression) -%}
    {{ return(adapter.dispatch('median', 'votum')(expression)) }}
{%- endmacro %}

{% macro default__median(expression) -%}
    median({{ expression }})
{%- endmacro %}

{% macro postgres__median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}

{% macro spark__median(expression) -%}
    percentile({{ expression }}, 0.5)
{%- endmacro %}
