"""``votum serve``: the small web service that answers the links of votum's emails (the
client's one-click opt-out and re-subscribe, the advisor's worklist actions), the store
of the advisors' clicks, the mailto opt-out reader and the exports for the bank's CRM.

The service (``app``, ``serve``) imports neither Prefect, dbt nor Great Expectations, and
never the DuckDB warehouse; only ``activity_sync`` (used by the runs) does.
"""
