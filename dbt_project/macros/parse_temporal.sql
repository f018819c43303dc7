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

{#
    PostgreSQL has no try_cast: a cast of unreadable text fails the whole query, and
    its own parser reads more than DuckDB does ('today', 'Jan 5 2026'). So the text is
    matched against the shapes DuckDB reads, and its fields are range-checked (month,
    day of that month, 24:00:00 at most, no leap second) before the timestamp is built
    from them; the CASE guarantees nothing is built from fields that failed a check.
    As on DuckDB: a date alone is midnight, '/' may separate an ISO date, fractions of
    a second are cut to microseconds, and a trailing Z, UTC or numeric offset is
    ignored (not converted). Time-zone names and years beyond 9999 are null here; the
    quality gate quarantines the latter as implausible anyway.
#}
{% macro postgres__parse_timestamp(expression) -%}
    (
        select
            case
                when parts.year_number is null then null
                when parts.year_number < 1 or parts.month_number not between 1 and 12 then null
                when
                    parts.day_number < 1
                    or parts.day_number > extract(
                        day from make_date(parts.year_number, parts.month_number, 1)
                        + interval '1 month' - interval '1 day'
                    )
                    then null
                when parts.minute_number > 59 or parts.second_number > 59 then null
                when parts.hour_number > parts.last_hour then null
                when parts.hour_number = 24 and parts.minute_number + parts.second_number + parts.fraction > 0
                    then null
                else
                    make_date(parts.year_number, parts.month_number, parts.day_number)
                    + make_interval(
                        hours => parts.hour_number,
                        mins => parts.minute_number,
                        secs => parts.second_number + parts.fraction
                    )
            end
        from (
            select
                cast(coalesce(matched.iso[1], matched.german[3]) as integer) as year_number,
                cast(coalesce(matched.iso[3], matched.german[2]) as integer) as month_number,
                cast(coalesce(matched.iso[4], matched.german[1]) as integer) as day_number,
                cast(coalesce(matched.iso[5], matched.german[4], '0') as integer) as hour_number,
                cast(coalesce(matched.iso[6], matched.german[5], '0') as integer) as minute_number,
                cast(coalesce(matched.iso[7], matched.german[6], '0') as integer) as second_number,
                cast('0.' || coalesce(left(matched.iso[8], 6), '') || '0' as double precision) as fraction,
                -- ISO reads 24:00:00 as the next midnight; the German formats stop at 23.
                case when matched.iso is null then 23 else 24 end as last_hour
            from (
                select
                    regexp_match(
                        trim({{ expression }}),
                        '^(\d{4})([-/])(\d{1,2})\2(\d{1,2})'
                        '(?:(?:T *| +)(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d*))?)?)?'
                        '\s*(?:Z|UTC|[+-]\d{2}(?::?\d{2}){0,2})?$'
                    ) as iso,
                    regexp_match(
                        trim({{ expression }}),
                        '^(\d{1,2})\.(\d{1,2})\.(\d{4})(?: +(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?)?$'
                    ) as german
                -- `offset 0` keeps PostgreSQL from inlining the subqueries: inlined,
                -- every use of a field repeats the regular expressions (about 40 per
                -- value, 13 times slower, measured on 5,366 CRM rows).
                offset 0
            ) as matched
            offset 0
        ) as parts
    )
{%- endmacro %}

{#
    Spark: try_cast reads ISO text and try_to_timestamp the German formats (both give
    null instead of failing, also under ANSI mode, Spark 4's default). Where Spark reads
    differently from DuckDB, the text is evened out first: a trailing Z, UTC or numeric
    offset is cut off (Spark would convert it to the session's time zone; DuckDB ignores
    it; only after a time, as '2026-01-05' ends in what looks like an offset), '/' as a
    date separator becomes '-', 'T ' or several blanks before the time one blank. Spark
    also reads an hour without minutes and refuses 24:00:00, so ISO text must have hours
    and minutes, and 24:00 is built as the next midnight. Day, month and hour may have
    one digit, as DuckDB's strptime allows.
#}
{% macro spark__parse_timestamp(expression) -%}
    {%- set iso -%}
        regexp_replace(
            regexp_replace(
                regexp_replace(
                    trim({{ expression }}),
                    '(\\d{1,2}:\\d{1,2}(:\\d{1,2}(\\.\\d*)?)?)\\s*(Z|UTC|[+-]\\d{2}(:?\\d{2}){0,2})$',
                    '$1'
                ),
                '^(\\d{4})/(\\d{1,2})/(\\d{1,2})',
                '$1-$2-$3'
            ),
            '^(\\d{4}-\\d{1,2}-\\d{1,2})(T *| +)',
            '$1 '
        )
    {%- endset -%}
    case
        when {{ iso }} rlike '^\\d{4}-\\d{1,2}-\\d{1,2} 24:00(:00(\\.0*)?)?$'
            then cast(
                date_add(try_cast(regexp_extract({{ iso }}, '^(\\d{4}-\\d{1,2}-\\d{1,2})', 1) as date), 1)
                as timestamp
            )
        when {{ iso }} rlike '^\\d{4}-\\d{1,2}-\\d{1,2}( \\d{1,2}:\\d{1,2}(:\\d{1,2}(\\.\\d*)?)?)?$'
            then try_cast({{ iso }} as timestamp)
        else coalesce(
            try_to_timestamp(trim({{ expression }}), 'd.M.yyyy H:m:s'),
            try_to_timestamp(trim({{ expression }}), 'd.M.yyyy H:m'),
            try_to_timestamp(trim({{ expression }}), 'd.M.yyyy')
        )
    end
{%- endmacro %}

{% macro parse_date(expression) -%}
    cast({{ parse_timestamp(expression) }} as date)
{%- endmacro %}
