"""votum: rating-change notifications, advisor worklists and CRM adoption reports.

Read the modules in the order the data flows: ``ingest`` (drop folder to raw tables),
``transform`` (dbt build of the marts), ``pipeline`` (the Prefect flows composing the
stages) and ``cli`` (the ``votum`` command).
"""

__version__ = "0.1.0"
