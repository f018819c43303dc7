"""The floor: one hand-written DuckDB query that computes the day's change-by-client
result straight from the drop files, with no warehouse, no dbt and no Prefect.

Run as a script by the benchmark in a process of its own so that its time and peak
memory are measured alone: ``python -m benchmarks.floor_query HISTORY_DROP DAY_DROP``.
It prints one JSON line: seconds, rows, distinct clients.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb

LABELS = """
    ('strong buy', 'strong_buy', 1), ('stark kaufen', 'strong_buy', 1),
    ('buy', 'buy', 2), ('kaufen', 'buy', 2), ('outperform', 'buy', 2),
    ('overweight', 'buy', 2), ('übergewichten', 'buy', 2),
    ('neutral', 'neutral', 3), ('hold', 'neutral', 3), ('halten', 'neutral', 3),
    ('sell', 'sell', 4), ('verkaufen', 'sell', 4), ('underperform', 'sell', 4),
    ('underweight', 'sell', 4), ('untergewichten', 'sell', 4),
    ('strong sell', 'strong_sell', 5), ('stark verkaufen', 'strong_sell', 5)
"""


# A published label as the rating scale knows it (lower case, single spaces).
NORMALISED_RATING = (
    "trim(regexp_replace(lower(replace(replace(r.rating, '_', ' '), '-', ' ')), '\\s+', ' ', 'g'))"
)


def affected_positions_sql(day_drop: Path, clients_drop: Path, clients_filter: str = "") -> str:
    """After a ``changes`` CTE (isin, code, previous_code): the CTEs and the final SELECT
    of each affected position with its weight in the client's portfolio and whether the
    client may be emailed, from the day's holdings and ``clients_drop``'s clients."""
    return f"""holdings AS (
        SELECT client_id, isin, quantity, market_value_eur
        FROM read_csv('{day_drop}/holdings.csv',
                      columns = {{'client_id': 'VARCHAR', 'isin': 'VARCHAR', 'quantity': 'DECIMAL(18,4)',
                                 'market_value_eur': 'DECIMAL(18,2)', 'as_of': 'VARCHAR'}}, header = true)
    ),
    affected AS (
        SELECT h.client_id, c.isin, c.code, c.previous_code, h.quantity, h.market_value_eur
        FROM changes c JOIN holdings h USING (isin)
        WHERE h.quantity > 0
    ),
    totals AS (
        SELECT client_id, sum(market_value_eur) AS portfolio
        FROM holdings WHERE client_id IN (SELECT client_id FROM affected)
        GROUP BY client_id
    ),
    clients AS (
        SELECT client_id, email, notify_opt_in
        FROM read_csv('{clients_drop}/clients.csv', all_varchar = true)
        {clients_filter}
    )
    SELECT a.*, a.market_value_eur / t.portfolio AS portfolio_weight,
           lower(trim(cl.notify_opt_in)) IN ('true', 'ja', '1')
           AND regexp_full_match(cl.email, '^[^@\\s]+@[^@\\s]+\\.[A-Za-z]{{2,}}$') AS notify_eligible
    FROM affected a JOIN totals t USING (client_id) LEFT JOIN clients cl USING (client_id)"""


def print_floor(sql: str) -> None:
    """Run the floor query in a fresh DuckDB; print its seconds, rows and clients as JSON."""
    started = time.perf_counter()
    rows = (
        duckdb.connect()
        .execute(f"SELECT count(*), count(DISTINCT client_id) FROM ({sql})")
        .fetchone()
    )
    seconds = time.perf_counter() - started
    assert rows is not None
    print(json.dumps({"seconds": seconds, "rows": rows[0], "clients": rows[1]}))


def floor_sql(history_drop: Path, day_drop: Path) -> str:
    day = day_drop.name
    clients_drop = day_drop if (day_drop / "clients.csv").exists() else history_drop
    return f"""
    WITH labels(label, code, rank) AS (VALUES {LABELS}),
    ratings AS (
        SELECT isin, rating, CAST(rated_at AS TIMESTAMP) AS rated_at, DATE '{history_drop.name}' AS drop_date
        FROM read_csv('{history_drop}/ratings.csv', all_varchar = true)
        UNION ALL
        SELECT isin, rating, CAST(rated_at AS TIMESTAMP), DATE '{day}'
        FROM read_csv('{day_drop}/ratings.csv', all_varchar = true)
    ),
    history AS (
        SELECT r.isin, r.rated_at, r.drop_date, l.code, l.rank,
               lag(l.code) OVER w AS previous_code, lag(l.rank) OVER w AS previous_rank
        FROM ratings r
        JOIN labels l ON l.label = {NORMALISED_RATING}
        WINDOW w AS (PARTITION BY r.isin ORDER BY r.rated_at, r.drop_date)
    ),
    changes AS (
        SELECT * FROM history
        WHERE drop_date = DATE '{day}' AND previous_code IS NOT NULL AND code <> previous_code
    ),
    {affected_positions_sql(day_drop, clients_drop)}
    """


def main() -> None:
    print_floor(floor_sql(Path(sys.argv[1]), Path(sys.argv[2])))


if __name__ == "__main__":
    main()
