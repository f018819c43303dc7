"""The intraday path: ratings batches delivered during the day, through the same stages
as the morning drop (ingest, the raw gate, an incremental dbt build of the day, the mart
gate, plan, dispatch). ``batches`` finds and loads them, ``gate`` checks one, ``plan``
turns one batch's changes into one email per client and one worklist per advisor."""
