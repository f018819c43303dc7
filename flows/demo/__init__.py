"""Trying votum out: ``drops`` writes realistic daily drop folders of any size (``votum
generate``), ``run_demo`` runs them day by day (``votum demo``) with the local mail server
(``mailserver``) and the advisors' clicks (``clicks``).

Import from the modules themselves (``from flows.demo.drops.generate import generate_drops``);
this package imports nothing, so that loading one part does not load numpy and DuckDB
for another."""
