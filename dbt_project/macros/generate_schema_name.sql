{#
    Custom schemas are used as written (`staging`, `intermediate`, `reference`) instead of
    dbt's default `<target schema>_<custom>`: the public marts stay in the target schema
    (`main` on DuckDB), where `select * from fct_rating_changes` finds them.
#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
