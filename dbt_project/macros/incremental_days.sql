{#
    Incremental models here are rebuilt one business day at a time. The day being run
    is not a dbt var (a var that changes every day would make dbt re-parse the whole
    project on every run): `votum run` writes it to raw.run_context just before
    `dbt build`, and the SQL reads it from there. The run's rows are deleted first
    (pre-hook), then rebuilt together with any day the model has not seen yet, so
    running a day twice replaces that day's rows, even when its input shrank to nothing.
#}
{% macro run_date() -%}
    (select max(run_date) from {{ source('drop', 'run_context') }})
{%- endmacro %}

{% macro delete_run_day(column) -%}
    {{ return(adapter.dispatch('delete_run_day', 'votum')(column)) }}
{%- endmacro %}

{% macro default__delete_run_day(column) -%}
    {%- if is_incremental() -%}
        delete from {{ this }} where {{ column }} = {{ run_date() }}
    {%- endif -%}
{%- endmacro %}

{#
    Spark's plain Parquet tables cannot delete rows (DELETE needs Delta or Iceberg), but
    a table partitioned by the day column can drop the run day's partition: the same
    effect, the rest of the model (append of the days to build) stays as it is. A
    partition spec takes a literal, so the run date is read first. `append` would
    otherwise add the run day's rows a second time: the model's unique_key means
    nothing to it.
#}
{% macro spark__delete_run_day(column) -%}
    {%- if is_incremental() and execute -%}
        {%- set day = run_query('select cast(max(run_date) as string) from ' ~ source('drop', 'run_context')).columns[0].values()[0] -%}
        {%- if day is none -%}
            {{ exceptions.raise_compiler_error('raw.run_context names no run date: publish the raw layer first') }}
        {%- endif -%}
        alter table {{ this }} drop if exists partition ({{ column }} = date '{{ day }}')
    {%- endif -%}
{%- endmacro %}

{#
    The partitioning of a model rebuilt one day at a time: by that day on Spark (so that
    spark__delete_run_day can drop it), none elsewhere.
#}
{% macro day_partition(column) -%}
    {{ return(column if target.type == 'spark' else none) }}
{%- endmacro %}

{#
    A model whose new rows replace old rows by key (incremental, delete+insert). Spark's
    Parquet tables can neither delete by key nor overwrite a table the query reads, so
    there the model is rebuilt whole from the drops, which gives the same rows: each key
    keeps the row of the latest drop that listed it. (Not the same in one case: a key
    that a drop delivered again no longer lists, and no other drop does, keeps its row
    on DuckDB and PostgreSQL and is gone on Spark.)
#}
{% macro key_replacing_materialization() -%}
    {{ return('table' if target.type == 'spark' else 'incremental') }}
{%- endmacro %}

{% macro is_day_to_build(column) -%}
    (
        {{ column }} not in (select distinct {{ column }} from {{ this }})
        or {{ column }} = {{ run_date() }}
    )
{%- endmacro %}
