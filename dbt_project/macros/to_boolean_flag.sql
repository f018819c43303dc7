{#
    Read a yes/no flag as banks export it: true/false, ja/nein, 1/0, yes/no, j/n, y/n
    (any case, surrounding blanks ignored). Anything else is null, i.e. unknown.
#}
{% macro to_boolean_flag(expression) -%}
    case
        when lower(trim({{ expression }})) in ('true', 'ja', '1', 'yes', 'j', 'y', 'wahr', 't') then true
        when lower(trim({{ expression }})) in ('false', 'nein', '0', 'no', 'n', 'falsch', 'f') then false
    end
{%- endmacro %}
