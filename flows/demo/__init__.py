"""Synthetic data for trying votum out: ``generate`` writes realistic daily drop folders of
any size (``votum generate``), ``names`` holds the reference data it draws from.

Import from the modules themselves (``from flows.demo.generate import generate_drops``);
this package imports nothing, so that loading one part does not load numpy and DuckDB
for another."""
