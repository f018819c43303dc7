"""Rendering of the client digest and the advisor worklist (pure, no I/O)."""

from __future__ import annotations

import re
from dataclasses import replace
from importlib import resources

import pytest

from flows.links import UnsubscribeLinks
from flows.notify.payloads import (
    AdvisorContact,
    AdvisorWorklist,
    ClientDigest,
    HoldingChange,
    RatingPoint,
    WorklistLine,
)
from flows.notify.render import (
    DIGEST_HTML,
    DIGEST_TEXT,
    HTML_TEMPLATES,
    TEXT_TEMPLATES,
    WORKLIST_HTML,
    WORKLIST_TEXT,
    Rendered,
    RenderError,
    clean_header_text,
    environment,
    render_client_digest,
    render_worklist,
)

NBSP = "\xa0"
TAG = re.compile(r"</?[A-Za-z!][^>]*>")
UNSUBSCRIBE = UnsubscribeLinks(
    mailto="mailto:unsubscribe@bank.example?subject=unsubscribe%20C0000001",
    https="https://bank.example/research-alerts/unsubscribe?token=t0k&client=C0000001",
)


def holding(**changes: object) -> HoldingChange:
    base = HoldingChange(
        change_id="chg-1",
        isin="DE0007164600",
        security_name="SAP SE",
        change_type="downgrade",
        previous_rating="neutral",
        previous_label="Neutral",
        new_rating="sell",
        new_label="Verkaufen",
        changed_on="2026-10-05",
        rated_at="2026-10-05T07:30:00",
        previous_rated_at="2026-03-12T09:15:00",
        target_price="120.5",
        currency="EUR",
        analyst="Equity Research, Dr. Anna Weber",
        quantity="1250.000000",
        market_value_eur="1234.56",
        portfolio_weight=0.1234,
        history=(
            RatingPoint("2025-11-03T08:00:00", "buy", "Kaufen"),
            RatingPoint("2026-03-12T09:15:00", "neutral", "Neutral"),
            RatingPoint("2026-10-05T07:30:00", "sell", "Verkaufen"),
        ),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def digest(*holdings: HoldingChange, **changes: object) -> ClientDigest:
    base = ClientDigest(
        business_day="2026-10-05",
        client_id="C0000001",
        first_name="Jürgen",
        last_name="Müller",
        email="juergen.mueller@example.com",
        language="de",
        advisor=AdvisorContact("A001", "Anna Schmidt", "anna.schmidt@bank.example"),
        holdings=holdings or (holding(),),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def apple(**changes: object) -> HoldingChange:
    return holding(
        change_id="chg-2",
        isin="US0378331005",
        security_name="Apple Inc.",
        change_type="upgrade",
        previous_rating="neutral",
        previous_label="Halten",
        new_rating="buy",
        new_label="Kaufen",
        target_price="250",
        currency="USD",
        quantity="12.5",
        market_value_eur="2500",
        portfolio_weight=0.05,
        history=(),
        **changes,
    )


def both(rendered: Rendered) -> tuple[str, str]:
    return rendered.text, rendered.html


# --------------------------------------------------------------------------- digest


def test_german_digest_formats_values_per_language() -> None:
    r = render_client_digest(digest(holding(), apple()), UNSUBSCRIBE, bank_name="Musterbank AG")
    assert r.subject == "Research-Information: neue Einstufung für 2 Ihrer Wertpapiere"
    for body in both(r):
        assert "Guten Tag Jürgen Müller," in body
        assert "SAP SE" in body and "DE0007164600" in body
        assert "Apple Inc." in body and "US0378331005" in body
        assert "▼ Herabstufung" in body and "▲ Heraufstufung" in body
        assert "Neutral → " in body and "Halten → " in body
        assert f"1.234,56{NBSP}€" in body  # position value
        assert f"120,50{NBSP}€" in body  # target price
        assert f"250,00{NBSP}$" in body  # target price in its own currency
        assert "1.250" in body  # quantity
        assert "12,5" in body
        assert f"12,3{NBSP}%" in body
        assert f"5,0{NBSP}%" in body
        assert "05.10.2026" in body
        assert "Anna Schmidt" in body and "anna.schmidt@bank.example" in body
        assert "Diese Information ist keine Anlageberatung" in body
        assert "Musterbank AG" in body
    assert "Herabstufung: Neutral → Verkaufen" in r.text


def test_english_digest_formats_values_per_language() -> None:
    d = digest(holding(new_label="Sell"), apple(), first_name="Jane", last_name="Smith")
    r = render_client_digest(replace(d, language="en"), UNSUBSCRIBE)
    assert r.subject == "Research information: new rating for 2 of your securities"
    for body in both(r):
        assert "Dear Jane Smith," in body
        assert "▼ Downgrade" in body and "▲ Upgrade" in body
        assert "€1,234.56" in body
        assert "€120.50" in body
        assert "US$250.00" in body
        assert "1,250" in body
        assert "12.3%" in body
        assert "5 Oct 2026" in body
        assert "5 Oct 2026, 07:30" in body
        assert "Uhr" not in body
        assert "This information is not investment advice" in body
        assert "Anlageberatung" not in body
    assert "Downgrade: Neutral → Sell" in r.text


def test_subject_names_the_security_when_only_one_is_affected() -> None:
    r = render_client_digest(digest(), UNSUBSCRIBE)
    assert r.subject == "Research-Information: SAP SE jetzt „Verkaufen“"
    en = render_client_digest(digest(holding(new_label="Sell"), language="en"), UNSUBSCRIBE)
    assert en.subject == "Research information: SAP SE now “Sell”"


def test_plain_text_is_a_real_alternative_without_tags() -> None:
    r = render_client_digest(digest(holding(), apple()), UNSUBSCRIBE)
    assert r.text != r.html
    assert TAG.search(r.text) is None
    assert "&amp;" not in r.text and "&lt;" not in r.text
    assert r.html.startswith("<!DOCTYPE html>")
    assert '<html lang="de">' in r.html and r.html.rstrip().endswith("</html>")
    assert "<script" not in r.html.lower()
    assert "src=" not in r.html and "<link" not in r.html  # no external resources
    assert "\n\n\n" not in r.text


def test_html_escapes_every_value_and_text_keeps_it_readable() -> None:
    nasty = holding(
        security_name='<script>alert(1)</script> Procter & Gamble\'s "Öl"',
        analyst="<b>Research</b>",
    )
    d = digest(nasty, first_name="Jürgen <i>", last_name="O'Brien & Söhne")
    r = render_client_digest(d, UNSUBSCRIBE)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.html
    assert "<script>" not in r.html
    assert "Procter &amp; Gamble&#39;s &#34;Öl&#34;" in r.html
    assert "&lt;b&gt;Research&lt;/b&gt;" in r.html and "<b>Research" not in r.html
    assert "Guten Tag Jürgen &lt;i&gt; O&#39;Brien &amp; Söhne," in r.html
    # The plain text shows the values as they are.
    assert '<script>alert(1)</script> Procter & Gamble\'s "Öl"' in r.text
    assert "Guten Tag Jürgen <i> O'Brien & Söhne," in r.text
    assert "<b>Research</b>" in r.text


def test_header_injection_through_a_security_name_never_reaches_the_subject() -> None:
    evil = holding(security_name="Evil\r\nBcc: victim@example.com\x00", new_label="Kaufen\n")
    r = render_client_digest(digest(evil), UNSUBSCRIBE)
    assert r.subject == "Research-Information: Evil Bcc: victim@example.com jetzt „Kaufen“"
    assert not set(r.subject) & {"\r", "\n", "\x00"}
    # In the body the name stays on one line, too.
    assert "1. Evil Bcc: victim@example.com (ISIN DE0007164600)" in r.text


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Evil\r\nBcc: x@y", "Evil Bcc: x@y"),
        ("  a\tb\x00c\x1bd\x7fe\x85f\u2028g\u2029h  ", "a b c d e f g h"),
        ("SAP \u202eES", "SAP ES"),
        ("Müller   „Kaufen“", "Müller „Kaufen“"),
        ("\r\n", ""),
    ],
)
def test_clean_header_text(raw: str, clean: str) -> None:
    assert clean_header_text(raw) == clean


def test_mar_disclosures_appear() -> None:
    r = render_client_digest(digest(), UNSUBSCRIBE)
    assert "Angaben zur Anlageempfehlung" in r.text
    assert "Erstellt von: Equity Research, Dr. Anna Weber" in r.text
    assert "Erstmals verbreitet: 05.10.2026, 07:30 Uhr" in r.text
    assert "Vorherige Einstufung: Neutral, veröffentlicht am 12.03.2026" in r.text
    assert "Einstufungen der letzten 12 Monate:" in r.text
    history = r.text.index("Einstufungen der letzten 12 Monate:")
    rows = ["- 03.11.2025: Kaufen", "- 12.03.2026: Neutral", "- 05.10.2026: Verkaufen"]
    positions = [r.text.index(row, history) for row in rows]
    assert positions == sorted(positions)
    for value in ("Equity Research, Dr. Anna Weber", "05.10.2026, 07:30 Uhr", "03.11.2025"):
        assert value in r.html
    assert "Neutral, veröffentlicht am 12.03.2026" in r.html


def test_mar_disclosures_in_english_and_when_not_given() -> None:
    h = holding(analyst=None, previous_rated_at=None, history=(), rated_at="2026-10-05")
    r = render_client_digest(digest(h, language="en"), UNSUBSCRIBE)
    assert "Produced by: not stated" in r.text
    assert "First disseminated: 5 Oct 2026\n" in r.text  # a bare date stays a date
    assert "Previous rating: Neutral\n" in r.text
    assert "Ratings over the last 12 months:\n     - none on record" in r.text


def test_dissemination_time_with_offset_is_shown_in_bank_time() -> None:
    r = render_client_digest(digest(holding(rated_at="2026-10-05T05:30:00Z")), UNSUBSCRIBE)
    assert "Erstmals verbreitet: 05.10.2026, 07:30 Uhr" in r.text  # CEST
    r = render_client_digest(digest(holding(rated_at="2026-12-01T06:30:00+00:00")), UNSUBSCRIBE)
    assert "Erstmals verbreitet: 01.12.2026, 07:30 Uhr" in r.text  # CET
    # A date is the bank's date, too: 23:30 UTC on 11 March is 12 March in Frankfurt.
    h = holding(previous_rated_at="2026-03-11T23:30:00+00:00")
    r = render_client_digest(digest(h), UNSUBSCRIBE)
    assert "Vorherige Einstufung: Neutral, veröffentlicht am 12.03.2026" in r.text


def test_opt_out_links_appear() -> None:
    r = render_client_digest(digest(), UNSUBSCRIBE)
    assert f"Hier abmelden: {UNSUBSCRIBE.https}" in r.text
    assert "unsubscribe@bank.example mit dem Betreff „unsubscribe C0000001“" in r.text
    assert (
        'href="https://bank.example/research-alerts/unsubscribe?token=t0k&amp;client=C0000001"'
        in r.html
    )
    assert 'href="mailto:unsubscribe@bank.example?subject=unsubscribe%20C0000001"' in r.html
    en = render_client_digest(digest(language="en"), UNSUBSCRIBE)
    assert f"Unsubscribe here: {UNSUBSCRIBE.https}" in en.text
    assert "send an email to unsubscribe@bank.example" in en.text


@pytest.mark.parametrize(
    "links",
    [
        UnsubscribeLinks(mailto=UNSUBSCRIBE.mailto, https="javascript:alert(1)"),
        UnsubscribeLinks(mailto=UNSUBSCRIBE.mailto, https="http://bank.example/u"),
        UnsubscribeLinks(mailto="unsubscribe@bank.example", https=UNSUBSCRIBE.https),
        UnsubscribeLinks(mailto="mailto:?subject=x", https=UNSUBSCRIBE.https),
        UnsubscribeLinks(mailto=UNSUBSCRIBE.mailto, https=UNSUBSCRIBE.https + "\r\nX: y"),
        UnsubscribeLinks(mailto=UNSUBSCRIBE.mailto + ">", https=UNSUBSCRIBE.https),
    ],
)
def test_unsafe_opt_out_links_are_refused(links: UnsubscribeLinks) -> None:
    with pytest.raises(RenderError, match="unsubscribe"):
        render_client_digest(digest(), links)


@pytest.mark.parametrize(
    ("first", "last", "language", "greeting"),
    [
        (None, "Müller", "de", "Guten Tag,"),
        ("Jürgen", None, "de", "Guten Tag,"),
        ("  ", "  ", "de", "Guten Tag,"),
        (None, None, "en", "Dear client,"),
    ],
)
def test_neutral_greeting_without_a_full_name(
    first: str | None, last: str | None, language: str, greeting: str
) -> None:
    d = digest(first_name=first, last_name=last, language=language)
    r = render_client_digest(d, UNSUBSCRIBE)
    assert r.text.startswith(greeting + "\n")
    assert f">{greeting}</p>" in r.html


def test_without_advisor_there_is_no_contact_block() -> None:
    r = render_client_digest(digest(advisor=None), UNSUBSCRIBE)
    assert "Ansprechperson" not in r.text and "Ansprechperson" not in r.html
    only_mail = render_client_digest(
        digest(advisor=AdvisorContact("A1", None, "team@bank.example")), UNSUBSCRIBE
    )
    assert "Ansprechperson:\nteam@bank.example\n" in only_mail.text
    assert 'href="mailto:team@bank.example"' in only_mail.html


def test_missing_target_price_and_weight() -> None:
    r = render_client_digest(digest(holding(target_price=None, portfolio_weight=None)), UNSUBSCRIBE)
    assert "Kursziel" not in r.text
    assert "Anteil am Depot: k. A." in r.text


def test_digest_refuses_bad_input() -> None:
    with pytest.raises(RenderError, match="no holdings"):
        render_client_digest(replace(digest(), holdings=()), UNSUBSCRIBE)
    with pytest.raises(RenderError, match="market_value_eur"):
        render_client_digest(digest(holding(market_value_eur="1.234,56")), UNSUBSCRIBE)
    with pytest.raises(RenderError, match="quantity"):
        render_client_digest(digest(holding(quantity="NaN")), UNSUBSCRIBE)
    with pytest.raises(RenderError, match=r"C0000001.*ISO date"):
        render_client_digest(digest(holding(changed_on="05.10.2026")), UNSUBSCRIBE)
    assert issubclass(RenderError, ValueError)


# --------------------------------------------------------------------------- worklist


def line(client_id: str, value: str, **changes: object) -> WorklistLine:
    base = WorklistLine(
        client_id=f"C{client_id}",
        client_name=f"Kunde C{client_id}",
        isin="DE0007164600",
        security_name="SAP SE",
        change_type="downgrade",
        previous_label="Neutral",
        new_label="Verkaufen",
        market_value_eur=value,
        portfolio_weight=0.25,
        notify_eligible=True,
        ineligible_reason=None,
        digest_key=f"digest:C{client_id}",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def worklist(*lines: WorklistLine, language: str = "de") -> AdvisorWorklist:
    return AdvisorWorklist(
        business_day="2026-10-05",
        advisor_id="A001",
        advisor_name="Anna Schmidt",
        email="anna.schmidt@bank.example",
        branch="München-Mitte",
        language=language,  # type: ignore[arg-type]
        lines=lines,
    )


def channel_of(r: Rendered, client_id: str) -> str:
    block = r.text.split(f"(C{client_id})\n", 1)[1].split("\n\n", 1)[0]
    return block.rsplit("\n", 1)[1].split(": ", 1)[1].removeprefix("(!) ")


FLAG_CASES = [
    # (line changes, ledger status, German flag, English flag, call?)
    ({}, "sent", "E-Mail versendet", "emailed", False),
    ({}, "pending", "E-Mail geplant", "email scheduled", False),
    ({}, "sending", "E-Mail geplant", "email scheduled", False),
    ({}, "held", "E-Mail geplant", "email scheduled", False),
    (
        {},
        "failed",
        "Anrufen – E-Mail nicht zustellbar",
        "Call – email could not be delivered",
        True,
    ),
    (
        {},
        "suppressed",
        "Anrufen – nicht per E-Mail: gesperrt",
        "Call – not emailed: suppressed",
        True,
    ),
    (
        {},
        "discarded",
        "Anrufen – nicht per E-Mail: verworfen",
        "Call – not emailed: discarded",
        True,
    ),
    (
        {},
        "withdrawn",
        "Anrufen – nicht per E-Mail: Einwilligung zurückgezogen",
        "Call – not emailed: consent withdrawn",
        True,
    ),
    (
        {},
        "expired",
        "Anrufen – nicht per E-Mail: nicht rechtzeitig zustellbar, verfallen",
        "Call – not emailed: not delivered in time, expired",
        True,
    ),
    (
        {},
        "uncertain",
        "Anrufen – E-Mail-Zustellung ungewiss",
        "Call – email delivery uncertain",
        True,
    ),
    (
        {"notify_eligible": False, "ineligible_reason": "opted_out", "digest_key": None},
        None,
        "Anrufen – nicht per E-Mail: Opt-out",
        "Call – not emailed: opted out",
        True,
    ),
    (
        {"notify_eligible": False, "ineligible_reason": "no_email", "digest_key": None},
        None,
        "Anrufen – nicht per E-Mail: keine E-Mail-Adresse",
        "Call – not emailed: no email address",
        True,
    ),
    (
        {"notify_eligible": False, "ineligible_reason": "invalid_email", "digest_key": None},
        None,
        "Anrufen – nicht per E-Mail: keine gültige E-Mail-Adresse",
        "Call – not emailed: no valid email address",
        True,
    ),
    (
        {"notify_eligible": False, "ineligible_reason": "suppressed", "digest_key": None},
        None,
        "Anrufen – nicht per E-Mail: gesperrt (Widerspruch)",
        "Call – not emailed: suppressed (objection)",
        True,
    ),
    (
        {"notify_eligible": False, "ineligible_reason": "unknown_client", "digest_key": None},
        None,
        "Anrufen – nicht per E-Mail: Kundenstammdaten fehlen",
        "Call – not emailed: client master data missing",
        True,
    ),
    (
        {"notify_eligible": False, "ineligible_reason": "deceased", "digest_key": None},
        None,
        "Anrufen – nicht per E-Mail: deceased",
        "Call – not emailed: deceased",
        True,
    ),
    # Not eligible wins over whatever the ledger says.
    (
        {"notify_eligible": False, "ineligible_reason": "opted_out"},
        "sent",
        "Anrufen – nicht per E-Mail: Opt-out",
        "Call – not emailed: opted out",
        True,
    ),
    # Eligible, but no digest planned (no key, or a key the ledger does not know).
    ({"digest_key": None}, None, "Anrufen – keine E-Mail geplant", "Call – no email planned", True),
    ({}, None, "Anrufen – keine E-Mail geplant", "Call – no email planned", True),
]


@pytest.mark.parametrize(("changes", "status", "german", "english", "call"), FLAG_CASES)
def test_worklist_channel_flag(
    changes: dict[str, object], status: str | None, german: str, english: str, call: bool
) -> None:
    item = line("1", "1000", **changes)
    delivery = {"digest:C1": status} if status is not None else {}
    for language, flag in (("de", german), ("en", english)):
        r = render_worklist(worklist(item, language=language), delivery)
        assert channel_of(r, "1") == flag
        assert ("(!) " in r.text) is call
        assert ('style="background-color:#fff4e5;"' in r.html) is call
        if call:
            action, detail = flag.split(" – ", 1)
            assert f'<strong style="color:#b42318;">{action}</strong> – {detail}' in r.html
        else:
            assert f">{flag}</td>" in r.html


def test_worklist_is_sorted_by_position_value_and_counts_clients() -> None:
    lines = (
        line("1", "999.99"),
        line("2", "100000"),
        line("3", "25000.5", notify_eligible=False, ineligible_reason="opted_out"),
        line("1", "5000", isin="US0378331005", security_name="Apple Inc."),
        line("4", "1000", digest_key="digest:C4"),
    )
    delivery = {"digest:C1": "sent", "digest:C2": "failed", "digest:C4": "pending"}
    r = render_worklist(worklist(*lines), delivery)
    assert r.subject == "Arbeitsliste 05.10.2026: 4 Kunden mit Ratingänderungen"
    values = [f"100.000,00{NBSP}€", f"25.000,50{NBSP}€", f"5.000,00{NBSP}€", f"1.000,00{NBSP}€"]
    values.append(f"999,99{NBSP}€")
    for body in both(r):
        positions = [body.index(v) for v in values]
        assert positions == sorted(positions)
    assert "Kunden: 4 | davon anzurufen: 2 | Positionen: 5" in r.text
    assert "Filiale: München-Mitte" in r.text
    assert "Guten Tag Anna Schmidt," in r.text
    assert "1. Kunde C2 (C2)\n   Wertpapier: SAP SE, ISIN DE0007164600" in r.text
    assert "Einstufung: Neutral → Verkaufen (▼ Herabstufung)" in r.text
    assert f"Depotanteil: 25,0{NBSP}%" in r.text
    assert ">davon anzurufen: <strong>2</strong>" in r.html
    assert TAG.search(r.text) is None
    assert r.html.startswith("<!DOCTYPE html>") and r.html != r.text

    en = render_worklist(replace(worklist(*lines), language="en"), delivery)
    assert en.subject == "Worklist 5 Oct 2026: 4 clients with rating changes"
    assert "Clients: 4 | to call: 2 | Positions: 5" in en.text
    positions = [en.text.index(v) for v in ("€100,000.00", "€25,000.50", "€5,000.00")]
    assert positions == sorted(positions)
    assert "Portfolio share: 25.0%" in en.text


def test_worklist_subject_for_one_client() -> None:
    r = render_worklist(worklist(line("1", "10")), {"digest:C1": "sent"})
    assert r.subject == "Arbeitsliste 05.10.2026: 1 Kunde mit Ratingänderungen"
    en = render_worklist(worklist(line("1", "10"), language="en"), {"digest:C1": "sent"})
    assert en.subject == "Worklist 5 Oct 2026: 1 client with rating changes"


def test_worklist_escapes_names_in_html() -> None:
    item = line(
        "1",
        "10",
        client_name="<script>alert(1)</script> Müller & Söhne",
        security_name='Evil "Co"\r\nBcc: x@y',
        change_type="upgrade",
    )
    r = render_worklist(worklist(item), {"digest:C1": "sent"})
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Müller &amp; Söhne" in r.html
    assert "<script>" not in r.html
    assert "Evil &#34;Co&#34; Bcc: x@y" in r.html
    assert "<script>alert(1)</script> Müller & Söhne (C1)" in r.text
    assert 'Evil "Co" Bcc: x@y, ISIN' in r.text
    assert "▲" in r.text and "▲" in r.html


def test_worklist_refuses_bad_input() -> None:
    with pytest.raises(RenderError, match="no lines"):
        render_worklist(worklist(), {})
    with pytest.raises(RenderError, match=r"A001.*market_value_eur"):
        render_worklist(worklist(line("1", "viel")), {})
    with pytest.raises(RenderError, match="ISO date"):
        render_worklist(replace(worklist(line("1", "1")), business_day="gestern"), {})


# --------------------------------------------------------------------------- templates


def test_html_templates_are_autoescaped_and_text_templates_are_not() -> None:
    env = environment()
    autoescape = env.autoescape
    assert callable(autoescape)
    for name in HTML_TEMPLATES:
        assert autoescape(name) is True, name
    for name in TEXT_TEMPLATES:
        assert autoescape(name) is False, name
    # Every template in the package is one of those, named so that the rule above holds.
    assert sorted(env.list_templates()) == sorted(HTML_TEMPLATES + TEXT_TEMPLATES)
    assert {DIGEST_HTML, WORKLIST_HTML} == set(HTML_TEMPLATES)
    assert {DIGEST_TEXT, WORKLIST_TEXT} == set(TEXT_TEMPLATES)


def test_a_value_rendered_through_the_html_template_is_escaped() -> None:
    env = environment()
    template = env.get_template(WORKLIST_HTML)
    assert template.name == WORKLIST_HTML
    r = render_worklist(worklist(line("1", "10", client_name="<b>bold</b>")), {})
    assert "&lt;b&gt;bold&lt;/b&gt;" in r.html
    assert "<b>bold</b>" not in r.html
    assert "<b>bold</b>" in r.text  # the text template is not escaped
    # The same environment leaves strings (no template name) alone, like any text template.
    assert env.from_string("{{ v }}").render(v="<b>") == "<b>"


def test_templates_are_package_data() -> None:
    folder = resources.files("flows.notify") / "templates"
    names = {entry.name for entry in folder.iterdir() if entry.name.endswith(".j2")}
    assert names == set(HTML_TEMPLATES + TEXT_TEMPLATES)


def test_worklist_lines_carry_the_action_links_in_html_and_text() -> None:
    def actions(client_id: str, isin: str) -> dict[str, str]:
        return {
            code: f"https://bank.example/worklist/action?client={client_id}&isin={isin}&action={code}&token=t"
            for code in ("called", "meeting", "not_reached", "no_contact")
        }

    plain = render_worklist(worklist(line("1", "10")), {"digest:C1": "sent"})
    assert "worklist/action" not in plain.html + plain.text
    r = render_worklist(worklist(line("1", "10")), {"digest:C1": "sent"}, actions)
    for code, label in (
        ("called", "angerufen"), ("meeting", "Termin vereinbart"),
        ("not_reached", "nicht erreicht"), ("no_contact", "erledigt ohne Kontakt"),
    ):  # fmt: skip
        href = f"https://bank.example/worklist/action?client=C1&amp;isin={line('1', '10').isin}&amp;action={code}&amp;token=t"
        assert f'<a href="{href}"' in r.html and f">{label}</a>" in r.html
        assert f"{label}: {href.replace('&amp;', '&')}" in r.text
    with pytest.raises(RenderError, match="action link"):
        render_worklist(
            worklist(line("1", "10")),
            {},
            lambda c, i: dict.fromkeys(actions(c, i), 'javascript:alert(1)"'),
        )


def test_the_footer_reads_well_whatever_the_bank_is_called() -> None:
    # The default name "Ihre Bank" after "von" read "versandt von Ihre Bank".
    for bank in ("Ihre Bank", "Musterbank AG"):
        r = render_client_digest(digest(), UNSUBSCRIBE, bank_name=bank)
        assert f"Absender: {bank}." in r.text
        assert "von Ihre Bank" not in r.text and "von Ihre Bank" not in r.html


def test_the_templates_compiled_per_language_render_what_the_templates_render(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each template is compiled once per language with its wording fixed
    (``render._compiled``): the same text and HTML, byte for byte, as rendering the
    template with the wording passed in, for both languages and every optional part."""
    from flows.notify import render

    def actions(client_id: str, isin: str) -> dict[str, str]:
        return {
            code: f"https://bank.example/a?c={client_id}&i={isin}&a={code}&t=x"
            for code in ("called", "meeting", "not_reached", "no_contact")
        }

    def all_of_them() -> list[tuple[str, str, str]]:
        rendered = []
        for language in ("de", "en"):
            for d in (
                digest(holding(), apple(), language=language),
                digest(holding(target_price=None, history=()), language=language, advisor=None),
                digest(holding(security_name="<i>A & B</i>"), language=language, batch="101500"),
            ):
                rendered.append(render_client_digest(d, UNSUBSCRIBE, bank_name="Bank & Co"))
            lines = (line("1", "10"), line("2", "2000", notify_eligible=False), line("3", "5"))
            w = worklist(*lines, language=language)
            rendered.append(render_worklist(w, {"digest:C1": "sent", "digest:C3": "failed"}))
            rendered.append(render_worklist(replace(w, branch="", batch="143000"), {}, actions))
        return [(r.subject, r.text, r.html) for r in rendered]

    compiled = all_of_them()
    monkeypatch.setattr(
        render, "_render", lambda name, context: environment().get_template(name).render(**context)
    )
    assert compiled == all_of_them()
