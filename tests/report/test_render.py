"""Rendering of the weekly adoption report: subject, HTML (email and file), plain text,
images and CSV (pure, no I/O)."""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from flows.report.csv_tables import csv_cell
from flows.report.documents import HTML_TEMPLATES, TEXT_TEMPLATES, environment
from flows.report.render import (
    MAX_ALERT_ROWS,
    RenderedReport,
    render_bank_report,
    render_branch_report,
)
from tests.report.test_charts import (
    ADVISORS,
    NBSP,
    advisor,
    alert,
    bank_report,
    branch_report,
    empty_branch_report,
)

TAG = re.compile(r"</?[A-Za-z!][^>]*>")
ADVISOR_NAMES = [a.advisor_name for a in ADVISORS if a.advisor_name]


def section(html: str, start: str, end: str) -> str:
    """The part of ``html`` between two headings."""
    begin = html.index(start)
    return html[begin : html.index(end, begin)]


def order(text: str, needles: list[str]) -> list[str]:
    """``needles`` in the order they appear in ``text``."""
    return sorted(needles, key=text.index)


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


# --------------------------------------------------------------------------- subject, headline


def test_german_subject_and_headlines() -> None:
    rendered = render_branch_report(branch_report())
    assert rendered.subject == "Adoption-Bericht Filiale München – KW 41 (05.10.–11.10.2026)"
    for document in (rendered.html_email, rendered.html_file, rendered.text):
        assert "Kunden innerhalb eines Tages informiert" in document
        assert "Alerts fristgerecht nachgefasst" in document
        assert "Folgegeschäfte aus Alerts" in document
        assert f"82,5{NBSP}%" in document  # the branch's adoption rate
        assert "▲ 3,5 Prozentpunkte zur Vorwoche" in document  # 79,0 % -> 82,5 %
        assert f"Bank gesamt: 76,0{NBSP}%" in document  # the one bank comparison
        assert f"Ziel: 80{NBSP}%" in document
        assert "Aktivitäten erfasst: " in document
        assert "1.234" in document  # thousands separator
        assert f"41,3{NBSP}h" in document  # Jörg Müller's median hours


def test_english_subject_and_headlines() -> None:
    rendered = render_branch_report(branch_report(language="en"))
    assert rendered.subject.startswith("Adoption report: Branch München – W41 (")
    assert rendered.subject.endswith("Oct 2026)")
    for document in (rendered.html_email, rendered.text):
        assert "Clients informed within one day" in document
        assert "Alerts followed up within the deadline" in document
        assert "Follow-up trades from alerts" in document
        assert "82.5%" in document
        assert "▲ 3.5 points on last week" in document
        assert "Whole bank: 76.0%" in document
        assert "1,234" in document
        assert "2nd business day" in " ".join(document.split())
    assert "Prozentpunkte" not in rendered.html_email


def test_the_minutes_from_intraday_batch_to_client_email() -> None:
    def flat(document: str) -> str:  # the text wraps (also after a hyphen); NBSP stays
        return re.sub(r"[ \n]+", " ", re.sub(r"-\n *", "-", TAG.sub(" ", document)))

    report = branch_report()
    rendered = render_branch_report(
        replace(report, totals=replace(report.totals, median_minutes_to_inbox=3.25))
    )
    for document in (rendered.html_email, rendered.html_file, rendered.text):
        assert f"Median Intraday-Lieferung bis Kunden-E-Mail: 3,3{NBSP}min" in flat(document)
    bank = bank_report(language="en")
    summary = render_bank_report(
        replace(bank, totals=replace(bank.totals, intraday_emails=4, median_minutes_to_inbox=1.5))
    )
    assert f"median intraday batch to client email: 1.5{NBSP}min" in flat(summary.text)
    # A week without intraday emails says so instead of showing a number.
    english = render_branch_report(branch_report(language="en"))
    assert "median intraday batch to client email: n/a" in flat(english.text)


def test_a_fall_is_shown_with_a_down_arrow() -> None:
    report = branch_report()
    worse = replace(report.previous, adoption_rate=0.9, follow_up_trades=10)
    rendered = render_branch_report(replace(report, previous=worse))
    assert "▼ 7,5 Prozentpunkte zur Vorwoche" in rendered.text
    assert "▼ 3 zur Vorwoche" in rendered.text


def test_the_subject_is_one_clean_line() -> None:
    report = replace(branch_report(), branch="Mün\r\nchen\u202e")
    rendered = render_branch_report(report)
    assert "\r" not in rendered.subject and "\n" not in rendered.subject
    assert "\u202e" not in rendered.subject


# --------------------------------------------------------------------------- tables


def test_the_advisor_table_lists_the_worst_first_and_marks_rows_below_target() -> None:
    rendered = render_branch_report(branch_report())
    table = section(rendered.html_file, ">Berater</h2>", "Alerts ohne Nachfassen")
    # Jörg Müller 33,3 %, Dr. ... 62,5 %, Anna 91,7 %, Fatma 100 %, Li Wei without a rate.
    expected = [
        "Jörg Müller",
        "Dr. Maximilian Freiherr von Hohenberg-Waldstein",
        "Anna Schmidt",
        "Fatma Yılmaz",
        "Li Wei",
    ]
    assert order(table, expected) == expected
    marked = re.findall(r'<tr class="below-target"[^>]*>\s*<td[^>]*>([^<]*)</td>', table)
    assert marked == expected[:2]

    text = section(rendered.text, "BERATER", "ALERTS OHNE NACHFASSEN")
    assert order(text, ["Jörg Müller", "Anna Schmidt", "Li Wei"]) == [
        "Jörg Müller",
        "Anna Schmidt",
        "Li Wei",
    ]
    marked_lines = [line for line in text.splitlines() if line.startswith("!")]
    assert len(marked_lines) == 2
    assert "Jörg Müller" in marked_lines[0]


def test_the_open_alerts_table_lists_missed_before_open_longest_first() -> None:
    rendered = render_branch_report(branch_report())
    table = section(rendered.html_file, "Alerts ohne Nachfassen", "So wird gezählt")
    clients = ["C0004711", "C0000815", "C0009999", "C0001234"]
    assert order(table, clients) == ["C0000815", "C0001234", "C0009999", "C0004711"]
    statuses = re.findall(r'<tr class="alert-(missed|open)">', table)
    assert statuses == ["missed", "missed", "open", "open"]
    assert "verpasst" in table and "offen" in table
    assert "US0378331005" in table  # the ISIN beside the name
    assert "05.10.2026" in table  # German dates

    text = section(rendered.text, "ALERTS OHNE NACHFASSEN", "SO WIRD GEZÄHLT")
    assert order(text, clients) == ["C0000815", "C0001234", "C0009999", "C0004711"]


def test_a_long_list_of_open_alerts_is_cut_in_the_email_but_not_in_the_csv() -> None:
    many = tuple(alert(f"C{i:07d}", "open", i % 5) for i in range(MAX_ALERT_ROWS + 20))
    rendered = render_branch_report(branch_report(unfollowed=many))
    assert rendered.html_email.count('<tr class="alert-open">') == MAX_ALERT_ROWS
    assert "… und 20 weitere" in rendered.html_email
    assert "open_alerts.csv" in rendered.text
    assert len(rows(rendered.csv["open_alerts.csv"])) == MAX_ALERT_ROWS + 20 + 1


# --------------------------------------------------------------------------- images


@pytest.mark.parametrize("language", ["de", "en"])
def test_cid_references_match_the_images_and_the_file_uses_file_names(language: str) -> None:
    rendered = render_branch_report(branch_report(language=language))
    assert set(rendered.images) == {"adoption.png", "trend.png", "hours.png"}
    assert all(png.startswith(b"\x89PNG") for png in rendered.images.values())
    cids = re.findall(r'src="cid:([^"]+)"', rendered.html_email)
    assert sorted(cids) == sorted(rendered.images)
    assert re.findall(r'src="([^"]+)"', rendered.html_email) == [f"cid:{n}" for n in cids]
    assert re.findall(r'src="([^"]+)"', rendered.html_file) == cids
    assert "cid:" not in rendered.html_file
    # Everything else is the same document.
    assert rendered.html_email.replace('src="cid:', 'src="') == rendered.html_file


def test_the_bank_report_has_the_trend_chart_only() -> None:
    rendered = render_bank_report(bank_report())
    assert set(rendered.images) == {"trend.png"}
    assert re.findall(r'src="cid:([^"]+)"', rendered.html_email) == ["trend.png"]
    assert re.findall(r'src="([^"]+)"', rendered.html_file) == ["trend.png"]


def test_an_empty_week_has_no_images_and_says_so() -> None:
    for language, sentence in (
        ("de", "In KW 41 gab es in der Filiale München keine Alerts"),
        ("en", "There were no alerts in Branch München in W41"),
    ):
        rendered = render_branch_report(empty_branch_report(language))
        assert rendered.images == {}
        assert "<img" not in rendered.html_email and "<img" not in rendered.html_file
        for document in (rendered.html_email, rendered.text):
            assert sentence in " ".join(document.split())
        assert "nan" not in rendered.text.lower().split()


def test_a_week_with_only_open_alerts_explains_the_missing_chart() -> None:
    only_open = (advisor("A1", "Anna Schmidt", followed=0, missed=0, open_alerts=3, hours=None),)
    report = branch_report(only_open)
    rendered = render_branch_report(
        replace(report, totals=replace(report.totals, open_alerts=3, adoption_rate=None))
    )
    assert set(rendered.images) == {"trend.png"}
    assert "alle 3 Alerts sind offen" in rendered.html_email
    assert "noch kein Kontakt erfasst" in rendered.html_email


# --------------------------------------------------------------------------- escaping


def test_script_in_names_is_escaped_in_html() -> None:
    evil = "<script>alert(1)</script>"
    report = branch_report(
        (*ADVISORS, advisor("A6", evil, followed=1, missed=3)),
        unfollowed=(alert("C1", "missed", 3, security=evil, advisor_name=evil),),
    )
    rendered = render_branch_report(replace(report, branch=evil))
    for html in (rendered.html_email, rendered.html_file):
        assert "<script" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert evil in rendered.text  # plain text is not HTML: shown as written
    bank = render_bank_report(
        replace(bank_report(), branches=(replace(bank_report().branches[0], branch=evil),))
    )
    assert "<script" not in bank.html_email
    assert "&lt;script&gt;" in bank.html_email


def test_autoescape_is_on_for_html_and_off_for_text() -> None:
    env = environment()
    autoescape = env.autoescape
    assert callable(autoescape)
    assert all(autoescape(name) for name in HTML_TEMPLATES)
    assert not any(autoescape(name) for name in TEXT_TEMPLATES)


def test_html_is_self_contained() -> None:
    for rendered in (render_branch_report(branch_report()), render_bank_report(bank_report())):
        for html in (rendered.html_email, rendered.html_file):
            assert html.lstrip().startswith("<!DOCTYPE html>")
            assert html.rstrip().endswith("</html>")
            assert "<script" not in html.lower()
            assert "<link" not in html.lower() and "<style" not in html.lower()
            assert "http://" not in html and "https://" not in html
            assert "text-align:right" in html


# --------------------------------------------------------------------------- plain text


@pytest.mark.parametrize(
    "rendered",
    [
        pytest.param(lambda: render_branch_report(branch_report()), id="branch"),
        pytest.param(lambda: render_branch_report(branch_report(language="en")), id="branch-en"),
        pytest.param(lambda: render_branch_report(empty_branch_report()), id="empty"),
        pytest.param(lambda: render_bank_report(bank_report()), id="bank"),
    ],
)
def test_plain_text_has_no_html(rendered) -> None:
    result: RenderedReport = rendered()
    assert not TAG.search(result.text)
    assert "&nbsp;" not in result.text and "&amp;" not in result.text
    assert "\u00ad" not in result.text  # no soft hyphens of the HTML headers


def test_plain_text_has_the_numbers_and_the_trend() -> None:
    text = render_branch_report(branch_report()).text
    assert f"33,3{NBSP}%" in text
    assert "KW 34" in text and "KW 41" in text
    assert "k. A." in text  # KW 36 without a rate


# --------------------------------------------------------------------------- bank


def test_the_bank_report_has_no_advisor_and_no_client() -> None:
    branch = branch_report()
    rendered = render_bank_report(bank_report())
    documents = [rendered.html_email, rendered.html_file, rendered.text, *rendered.csv.values()]
    secrets = [*ADVISOR_NAMES, *(a.advisor_id for a in branch.advisors)]
    secrets += [u.client_id for u in branch.unfollowed]
    for document in documents:
        for secret in secrets:
            assert secret not in document
    assert set(rendered.csv) == {"branches.csv"}
    assert rendered.subject == "Adoption-Bericht Bank gesamt – KW 41 (05.10.–11.10.2026)"
    table = section(rendered.html_file, ">Filialen</h2>", "So wird gezählt")
    assert order(table, ["München", "Hamburg", "Köln"]) == ["Hamburg", "München", "Köln"]
    assert table.count('class="below-target"') == 1  # Hamburg, 71 %


# --------------------------------------------------------------------------- CSV


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+49 89 1234", "'+49 89 1234"),
        ("-1", "'-1"),  # text, not a number
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Anna Schmidt", "Anna Schmidt"),
        ("", ""),
        (None, ""),
        (-3, "-3"),
        (-0.5, "-0.5"),
        (0.825, "0.825"),
        (1e-7, "0.0000001"),
        (Decimal("-12.50"), "-12.50"),
        (float("nan"), ""),
        (math.inf, ""),
        (True, "true"),
        (date(2026, 10, 5), "2026-10-05"),
    ],
)
def test_csv_cell(value: object, cell: str) -> None:
    assert csv_cell(value) == cell


def test_csv_neutralises_formulas_and_keeps_numbers() -> None:
    report = branch_report(
        (
            advisor("=A1", '=HYPERLINK("http://x")', followed=1, missed=2),
            advisor("A2", "+Plus", followed=0, missed=1, hours=-1.5),
            advisor("A3", "-Minus", followed=1, missed=1),
            advisor("A4", "@At", followed=1, missed=0),
        ),
        unfollowed=(alert("-C1", "missed", 3, security="=cmd|' /C calc'!A0", isin="@X"),),
    )
    rendered = render_branch_report(report)
    advisors = rows(rendered.csv["advisors.csv"])
    header, body = advisors[0], advisors[1:]
    assert header[:4] == ["week", "branch", "advisor_id", "advisor_name"]
    names = {row[header.index("advisor_name")] for row in body}
    assert names == {'\'=HYPERLINK("http://x")', "'+Plus", "'-Minus", "'@At"}
    assert "'=A1" in {row[header.index("advisor_id")] for row in body}
    for row in body:
        for column in ("alerts", "missed", "adoption_rate", "follow_up_trades"):
            float(row[header.index(column)])  # numbers stay numbers
    hours = [row[header.index("median_hours_to_contact")] for row in body]
    assert "-1.5" in hours  # a negative number is not text
    alerts = rows(rendered.csv["open_alerts.csv"])
    assert alerts[1][alerts[0].index("client_id")] == "'-C1"
    assert alerts[1][alerts[0].index("security_name")] == "'=cmd|' /C calc'!A0"
    assert alerts[1][alerts[0].index("isin")] == "'@X"
    assert alerts[1][alerts[0].index("days_open")] == "3"


def test_csv_files_and_their_order() -> None:
    rendered = render_branch_report(branch_report())
    assert set(rendered.csv) == {"advisors.csv", "open_alerts.csv"}
    advisors = rows(rendered.csv["advisors.csv"])
    names = [row[advisors[0].index("advisor_name")] for row in advisors[1:]]
    assert names[0] == "Jörg Müller" and names[-1] == "Li Wei"
    assert advisors[1][advisors[0].index("below_target")] == "true"
    alerts = rows(rendered.csv["open_alerts.csv"])
    assert [row[1] for row in alerts[1:]] == ["missed", "missed", "open", "open"]
    assert alerts[1][alerts[0].index("business_day")] == "2026-10-05"  # ISO, not German
    bank = rows(render_bank_report(bank_report()).csv["branches.csv"])
    assert [row[1] for row in bank[1:]] == ["Hamburg", "München", "Köln"]
    assert bank[1][bank[0].index("adoption_rate")] == "0.71"


def test_rendering_is_deterministic() -> None:
    first, second = render_branch_report(branch_report()), render_branch_report(branch_report())
    assert first == second
