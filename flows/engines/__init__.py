"""Warehouses besides the embedded DuckDB file that the dbt models build on
(``VOTUM_DBT_TARGET``): for now PostgreSQL (:mod:`flows.engines.postgres`)."""
