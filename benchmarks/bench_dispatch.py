"""Dispatch throughput: messages per second to a local SMTP sink (in its own process):
aiosmtpd always, and Postfix's ``smtp-sink`` too where the machine has it (Debian
package postfix; its service need not run).

Three ways to send the same number of client digests:
* yagmail's plain ``send()`` loop (it builds every message itself and logs in again for
  every call): the baseline;
* votum's dispatch over one connection (render, build MIME, check suppression, send,
  journal each message);
* votum's dispatch with a pool of connections;
* votum's dispatch fan-out (``flows/notify/fanout.py``) over two Dask worker processes,
  one connection each: on a cluster already running (``VOTUM_DASK_ADDRESS``; its workers
  warm) and on the local cluster a dispatch starts itself (``VOTUM_DISPATCH_WORKERS=2``:
  cluster start, imports and the first Prefect task runs included).

Run by ``make bench``; prints a table and each votum figure beside the target (issue
15: >= 1,600 messages/s to smtp-sink from one process with a pool), writes the table to
``var/bench/dispatch-results.md`` and the in-process figures of the preferred sink
(smtp-sink where installed, else aiosmtpd) to ``var/bench/dispatch-figures.json``. The
in-process figures are the best of ``BENCH_REPEATS`` (2) runs each: the machines are
shared.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import yagmail

from flows.notify.dispatch import dispatch
from flows.notify.ledger import CLIENT_DIGEST, PENDING, upsert_planned
from flows.notify.payloads import AdvisorContact, ClientDigest, HoldingChange, RatingPoint, to_json
from flows.notify.plan import planned_message
from flows.settings import get_settings
from flows.warehouse import open_warehouse

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "var" / "bench" / "dispatch"
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "3000"))
REPEATS = int(os.environ.get("BENCH_REPEATS", "2"))
DAY = date(2026, 11, 3)
TARGET = 1600  # messages/s to smtp-sink from one process with a pool (issue 15)
FIGURES = ROOT / "var" / "bench" / "dispatch-figures.json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _digest(i: int) -> ClientDigest:
    holding = HoldingChange(
        change_id=f"change-{i % 37}", isin="DE0007164600", security_name="SAP SE",
        change_type="downgrade", previous_rating="buy", previous_label="Kaufen",
        new_rating="sell", new_label="Verkaufen", changed_on=DAY.isoformat(),
        rated_at="2026-11-03T07:30:00", previous_rated_at="2026-06-01T08:00:00",
        target_price="180.00", currency="EUR", analyst="Dr. Anna Weber",
        quantity="25", market_value_eur="4500.00", portfolio_weight=0.12,
        history=(RatingPoint("2026-06-01T08:00:00", "buy", "Kaufen"),
                 RatingPoint("2026-11-03T07:30:00", "sell", "Verkaufen")),
    )  # fmt: skip
    return ClientDigest(
        business_day=DAY.isoformat(), client_id=f"C{i:07d}", first_name="Jürgen",
        last_name=f"Müller {i}", email=f"client{i}@example.com", language="de",
        advisor=AdvisorContact("A0001", "Petra Schmidt", "petra@bank.example"),
        holdings=(holding,),
    )  # fmt: skip


def _plan(count: int) -> None:
    digests = [_digest(i) for i in range(count)]
    messages = [
        planned_message(CLIENT_DIGEST, DAY, d.client_id, "Jürgen Müller", d.email, "de",
                 [h.change_id for h in d.holdings], to_json(d), PENDING, None, "bank.example")
        for d in digests
    ]  # fmt: skip
    with open_warehouse(get_settings().warehouse_path) as con:
        upsert_planned(con, messages)


def _reset() -> None:
    settings = get_settings()
    with open_warehouse(settings.warehouse_path) as con:
        con.execute(
            "UPDATE ops.delivery_ledger SET status = 'pending', attempts = 0, sent_at = NULL"
        )
    settings.journal_path.unlink(missing_ok=True)


def _votum(pool: int) -> float:
    os.environ.update({"VOTUM_SMTP_POOL_SIZE": str(pool), "VOTUM_DISPATCH_WORKERS": "1"})
    _reset()
    report = dispatch(get_settings())
    assert report.sent == MESSAGES, report
    return report.messages_per_second


def _votum_fanout(workers: int, *, existing_cluster: bool) -> float:
    """Dispatch over ``workers`` Dask worker processes (a fresh cluster, or one started
    and warmed beforehand whose address is given as VOTUM_DASK_ADDRESS)."""
    from distributed import Client, LocalCluster

    from flows.notify.fanout import prefect_api_url

    os.environ.update({"VOTUM_SMTP_POOL_SIZE": "1", "VOTUM_DISPATCH_WORKERS": str(workers)})
    os.environ.pop("VOTUM_DASK_ADDRESS", None)
    _reset()
    if not existing_cluster:
        report = dispatch(get_settings())
    else:
        env = {"PREFECT_API_URL": prefect_api_url()}
        with (
            LocalCluster(n_workers=workers, threads_per_worker=1, dashboard_address="127.0.0.1:0", env=env)
            as cluster,
            Client(cluster) as client,
        ):  # fmt: skip
            client.run(__import__, "flows.notify.fanout")
            os.environ["VOTUM_DASK_ADDRESS"] = cluster.scheduler_address
            try:
                report = dispatch(get_settings())
            finally:
                del os.environ["VOTUM_DASK_ADDRESS"]
    assert report.sent == MESSAGES, report
    return report.messages_per_second


def _yagmail_loop(port: int, count: int) -> float:
    """yagmail's own way: ``send()`` per message (it connects and logs in each time)."""
    yag = yagmail.SMTP(user="research@bank.example", host="127.0.0.1", port=port,
                       smtp_ssl=False, smtp_starttls=False, smtp_skip_login=True,
                       soft_email_validation=False)  # fmt: skip
    text = "Guten Tag,\nSAP SE: Kaufen -> Verkaufen\n" * 20
    html = "<p>SAP SE: Kaufen &rarr; Verkaufen</p>" * 20
    started = time.perf_counter()
    for i in range(count):
        yag.send(
            to=f"client{i}@example.com", subject=f"Research-Information {i}", contents=[text, html]
        )
    seconds = time.perf_counter() - started
    yag.close()
    return count / seconds


def _sinks() -> list[tuple[str, list[str]]]:
    sinks = [("aiosmtpd", [sys.executable, "-m", "benchmarks.smtp_sink"])]
    postfix = shutil.which("smtp-sink") or (
        "/usr/sbin/smtp-sink" if Path("/usr/sbin/smtp-sink").exists() else None
    )
    if postfix:
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        sinks.append(("Postfix smtp-sink", [postfix, *user]))
    return sinks


def _start(command: list[str], port: int) -> subprocess.Popen[str]:
    if command[0] == sys.executable:
        sink = subprocess.Popen([*command, str(port)], stdout=subprocess.PIPE, text=True)
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        return sink
    sink = subprocess.Popen(
        [*command, f"127.0.0.1:{port}", "1000"],
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):  # wait until it listens
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return sink
        time.sleep(0.05)
    raise SystemExit("smtp-sink did not start")


def _best_votum(pool: int) -> float:
    return max(_votum(pool) for _ in range(REPEATS))


def _measure(name: str, command: list[str]) -> dict[str, float]:
    port = _free_port()
    sink = _start(command, port)
    try:
        os.environ["VOTUM_SMTP_PORT"] = str(port)
        figures = {"yagmail_loop": _yagmail_loop(port, min(MESSAGES, 1500))}
        figures["one_connection"] = _best_votum(1)
        figures.update({f"pool_{pool}": _best_votum(pool) for pool in (2, 4)})
        figures["dask_running"], figures["dask_started"] = (
            _votum_fanout(2, existing_cluster=warm) for warm in (True, False)
        )
    finally:
        sink.terminate()
        sink.wait()
    return figures


COLUMNS = ("one_connection", "pool_2", "pool_4", "dask_running", "dask_started")
LABELS = {
    "one_connection": "votum, 1 connection",
    "pool_2": "votum, pool of 2",
    "pool_4": "votum, pool of 4",
    "dask_running": "votum, 2 Dask workers (running cluster)",
    "dask_started": "votum, 2 Dask workers (cluster started by the dispatch)",
}


def _row(name: str, figures: dict[str, float]) -> str:
    yag = figures["yagmail_loop"]
    cells = [f"{figures[c]:,.0f} ({figures[c] / yag:.1f}x)" for c in COLUMNS]
    return f"| {name} | {yag:,.0f} | " + " | ".join(cells) + " |"


def _beside_the_target(name: str, figures: dict[str, float]) -> list[str]:
    """Each in-process figure beside the target; the target counts with a pool and
    smtp-sink (aiosmtpd, a Python server, is the slower side of its own figures)."""
    lines = []
    for column in ("one_connection", "pool_2", "pool_4"):
        rate = figures[column]
        counts = column != "one_connection" and name != "aiosmtpd"
        verdict = ("met" if rate >= TARGET else "not met") if counts else "for comparison"
        lines.append(
            f"{name}, {LABELS[column]}: {rate:,.0f} messages/s "
            f"(target >= {TARGET:,}/s to smtp-sink with a pool: {verdict})"
        )
    return lines


def main() -> None:
    shutil.rmtree(BENCH, ignore_errors=True)
    os.environ.update({
        "VOTUM_HOME": str(BENCH), "VOTUM_SMTP_HOST": "127.0.0.1", "VOTUM_SMTP_SECURITY": "none",
        "VOTUM_DISPATCH_BATCH_SIZE": "1000",
    })  # fmt: skip
    get_settings().apply_runtime_environment()  # Prefect's home under VOTUM_HOME
    _plan(MESSAGES)
    measured = {name: _measure(name, command) for name, command in _sinks()}
    lines = [
        f"# votum bench: dispatch of {MESSAGES:,} client digests to a local SMTP sink",
        "",
        "| sink | yagmail `send()` loop, msg/s | " + " | ".join(LABELS[c] for c in COLUMNS) + " |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(_row(name, figures) for name, figures in measured.items()),
        "",
        "(x: times the yagmail loop on the same sink.) Each votum message is rendered from its "
        "ledger payload (Jinja2, German formats, about 9 KB), built as MIME, checked against "
        "the suppression list and journalled after the server's reply; the yagmail loop "
        "builds a plain two-part message and logs in again for every message. In-process "
        f"figures: the best of {REPEATS} run(s) each. The Dask workers share the machine's cores "
        "with the sink and the dispatching process; the last column includes starting the "
        "cluster (and Prefect's temporary server where none runs).",
        "",
        *(line for name, figures in measured.items() for line in _beside_the_target(name, figures)),
    ]
    report = "\n".join(lines)
    (BENCH.parent / "dispatch-results.md").write_text(report + "\n", encoding="utf-8")
    preferred = "Postfix smtp-sink" if "Postfix smtp-sink" in measured else "aiosmtpd"
    figures = measured[preferred]
    FIGURES.write_text(
        json.dumps(
            {
                "sink": "smtp-sink" if preferred == "Postfix smtp-sink" else "aiosmtpd",
                **{c: round(figures[c], 1) for c in ("one_connection", "pool_2", "pool_4")},
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )
    print(report)


if __name__ == "__main__":
    main()
