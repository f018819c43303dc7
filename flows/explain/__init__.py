"""``votum explain``: why a client got an email, or why not; what a worklist holds and why.

Read-only: the warehouse is opened read-only (and not at all while a run holds the run
lock), the delivery journal through a read-only connection; nothing is written anywhere.

The provenance of every line comes from the marts' lineage columns: a change is the
publication ``change_id`` of ``int_ratings_historized`` (ISIN, rated_at, drop), its
predecessor ``previous_rating_event_id``; a client's position is the holdings line of
(``snapshot_date``, ``client_id``, ``isin``). The line in the file is found now, by
reading the drop's file again exactly as ingest read it (``typed_rows_sql``), after
checking that the file still has the SHA-256 recorded when it was loaded. Lines count
as in a text editor: the header is line 1, the first data row line 2; rows ingest could
not read are counted where they stand; a Parquet file has rows (from 1), not lines. When
the file is gone or changed, the drop, the file and the row's key are still named.

Only the subject's own rows are read and shown: explaining client C shows C's rows, an
advisor's worklist the advisor's own lines. Email addresses are never shown; the
server's reply is shown with any address in it replaced.
"""

from flows.explain.answer import Explanation, as_json, as_json_text
from flows.explain.gather import ExplainError, explain_advisor, explain_client, explain_message
from flows.explain.rules import exclusion_of, outcome_words, redact_addresses
from flows.explain.text import as_text

__all__ = [
    "ExplainError",
    "Explanation",
    "as_json",
    "as_json_text",
    "as_text",
    "exclusion_of",
    "explain_advisor",
    "explain_client",
    "explain_message",
    "outcome_words",
    "redact_addresses",
]
