{#
    Statement settings for each model's transaction (a project-wide pre-hook).

    PostgreSQL guesses that a day's rating changes are one row (the filter "a day the
    model has not seen, or the run day" defeats its estimates) and then joins the large
    holdings aggregates by nested loop, re-running a whole aggregation once per affected
    position: 47 s instead of 0.9 s for fct_client_rating_changes at 20,000 clients.
    These models join a day's changes to whole snapshots, where hash joins are right, so
    nested loops are off; and JIT compilation, which PostgreSQL starts for such costly
    plans, takes longer than the statements themselves (1.2 s of 1.6 s). `set local`
    ends with the model's transaction: nothing leaks into other sessions.
    DuckDB and Spark plan these joins well and need nothing.
#}
{% macro planner_settings() -%}
    {{ return(adapter.dispatch('planner_settings', 'votum')()) }}
{%- endmacro %}

{% macro default__planner_settings() -%}
{%- endmacro %}

{% macro postgres__planner_settings() -%}
    set local enable_nestloop = off;
    set local jit = off
{%- endmacro %}
