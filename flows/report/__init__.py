"""The weekly adoption report: figures from the marts (``extract``), charts and HTML
(``charts``, ``render``; pure), written to files and sent through the delivery ledger."""
