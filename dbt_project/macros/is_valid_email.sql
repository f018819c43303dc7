{#
    True when the text is a deliverable-looking address: one @, a local part of the
    usual characters without leading, trailing or double dots, and a domain with at
    least one dot and a letter-only top-level domain. No whitespace, so no CR or LF can
    reach a mail header. Regular-expression matching is engine-specific.
#}
{% macro email_pattern() -%}
    ^[A-Za-z0-9!#$%&*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&*+/=?^_`{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}$
{%- endmacro %}

{% macro is_valid_email(expression) -%}
    {{ return(adapter.dispatch('is_valid_email', 'votum')(expression)) }}
{%- endmacro %}

{% macro default__is_valid_email(expression) -%}
    coalesce(regexp_full_match({{ expression }}, '{{ email_pattern() }}'), false)
{%- endmacro %}

{% macro postgres__is_valid_email(expression) -%}
    coalesce({{ expression }} ~ '{{ email_pattern() }}', false)
{%- endmacro %}

{#
    Spark: a backslash in a string literal is an escape character (so '\.' must be
    written '\\.', or it would match any character), and Java's `$` also matches before
    a final line break, where RE2 and PostgreSQL do not: `\z` is the very end.
#}
{% macro spark__is_valid_email(expression) -%}
    {%- set pattern = email_pattern()[:-1] ~ '\\z' -%}
    coalesce({{ expression }} rlike '{{ pattern | replace('\\', '\\\\') }}', false)
{%- endmacro %}
