"""``votum worker``: Prefect's process worker whose next flow run's process is warmed up
beforehand (``warm_worker``), the process kept ready (``warm_process``) and the command
that hands each flow run to it (``handoff``)."""
