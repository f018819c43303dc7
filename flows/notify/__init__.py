"""Client digests and advisor worklists: plan (ledger rows from the marts), render
(templates, pure), transport (the only module that talks SMTP) and dispatch (claim,
send, mark)."""
