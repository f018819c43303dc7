{#
    An 8-byte float. dbt.type_float() is a 4-byte float on DuckDB, too coarse for
    shares of a portfolio; PostgreSQL spells the 8-byte type `double precision`, which
    Spark rejects, hence the dispatch.
#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'votum')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double
{%- endmacro %}

{% macro postgres__type_double() -%}
    double precision
{%- endmacro %}
