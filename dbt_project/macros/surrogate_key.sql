{#
    A deterministic key from several columns: md5 of the values joined by '|', nulls as
    an empty marker. Built from dbt's cross-database macros (hash, concat, type_string),
    so it is the same on every engine; we carry no package for it (dbt_utils would
    need network access at install time).
#}
{% macro surrogate_key(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '_null_')") -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}
