{#
    Normalise a free-text label for matching against a seed: lower case, `_` and `-` as
    spaces, runs of whitespace collapsed, trimmed. Regular expressions differ by engine
    (DuckDB and PostgreSQL need the 'g' flag to replace every match, Spark replaces all
    by default), hence the dispatch.
#}
{% macro normalize_label(expression) -%}
    {{ return(adapter.dispatch('normalize_label', 'votum')(expression)) }}
{%- endmacro %}

{% macro default__normalize_label(expression) -%}
    trim(regexp_replace(lower(replace(replace({{ expression }}, '_', ' '), '-', ' ')), '\s+', ' ', 'g'))
{%- endmacro %}

{% macro spark__normalize_label(expression) -%}
    trim(regexp_replace(lower(replace(replace({{ expression }}, '_', ' '), '-', ' ')), '\\s+', ' '))
{%- endmacro %}
