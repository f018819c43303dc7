"""Warehouses besides the embedded DuckDB file that the dbt models build on
(``VOTUM_DBT_TARGET``): PostgreSQL (:mod:`flows.engines.postgres`) and Apache Spark
(:mod:`flows.engines.spark`); :mod:`flows.engines.target` chooses."""
