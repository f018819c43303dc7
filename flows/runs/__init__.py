"""The frame a day runs in: which day may run (``dates``), one run at a time (``lock``),
the run ledger and its Prefect artifact, held days, the mail settings checked at start,
the operations alert, the flows' parameters, logs, progress bars, the day's summary and
``votum status``. The stages (ingest, quality, transform, notify, report) know nothing of
it; ``flows/pipeline.py`` composes them inside it."""
