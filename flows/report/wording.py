"""Every sentence, label and definition of the weekly reports, in German and English
(``TEXTS[language][key]``, filled with ``str.format``). The definitions are those of
docs/rules.md."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "title": "Adoption-Bericht {who} – {week} ({period})",
        "bank_who": "Bank gesamt",
        "intro": "Wer fasst die Alerts zu Ratingänderungen nach? Ziel: {target} der Alerts "
        "innerhalb von {sla} nachgefasst.",
        "intro_bank": "Wie fassen die Filialen die Alerts zu Ratingänderungen nach? Ziel: "
        "{target} der Alerts innerhalb von {sla} nachgefasst.",
        "headline": "Kennzahlen der Woche",
        "informed": "Kunden innerhalb eines Tages informiert",
        "adoption": "Alerts fristgerecht nachgefasst",
        "trades": "Folgegeschäfte aus Alerts",
        "vs_bank": "Bank gesamt: {value}",
        "target": "Ziel: {value}",
        "change_points": "{arrow} {value} Prozentpunkte zur Vorwoche",
        "change_count": "{arrow} {value} zur Vorwoche",
        "unchanged": "unverändert zur Vorwoche",
        "no_previous": "Vorwoche: keine Angabe",
        "not_available": "k. A.",
        "no_value": "–",
        "no_informed": "keine Kunden mit Alert",
        "no_rate": "noch kein Alert mit bekanntem Ergebnis",
        "alerts": "Alerts",
        "open": "offen",
        "missed": "verpasst",
        "activities": "Aktivitäten erfasst",
        "opt_outs": "Abmeldungen von Kunden",
        "median_hours": "Median bis zum ersten Kontakt",
        "median_minutes_to_inbox": "Median Intraday-Lieferung bis Kunden-E-Mail",
        "charts": "Diagramme",
        "advisors": "Berater",
        "advisors_intro": "Niedrigste Quote zuerst. Orange markiert: unter dem Ziel von {target}.",
        "advisors_intro_text": "Niedrigste Quote zuerst. ! = unter dem Ziel von {target}.",
        "no_advisors": "In dieser Woche hatte kein Berater der Filiale Alerts oder Aktivitäten.",
        "col_advisor": "Berater",
        "col_alerts": "Alerts",
        "col_followed": "In Frist nach\u00adgefasst",
        "col_missed": "Verpasst",
        "col_open": "Offen",
        "col_rate": "Quote",
        "col_hours": "Median bis Kontakt",
        "col_trades": "Folge\u00adgeschäfte",
        "col_activities": "Aktivi\u00adtäten",
        "col_informed": "Kunden inform. ≤ 1 Tag",
        "col_branch": "Filiale",
        "txt_followed": "in Frist",
        "txt_missed": "verpasst",
        "txt_open": "offen",
        "txt_rate": "Quote",
        "txt_hours": "Median",
        "txt_trades": "Folgegesch.",
        "txt_activities": "Aktiv.",
        "txt_informed": "inform.≤1T",
        "unfollowed": "Alerts ohne Nachfassen",
        "unfollowed_intro": "Verpasste zuerst, dann die am längsten offenen.",
        "no_unfollowed": "Keine: kein Alert dieser Filiale ist offen oder verpasst.",
        "more_unfollowed": "… und {count} weitere; die vollständige Liste steht in "
        "open_alerts.csv.",
        "col_status": "Status",
        "col_client": "Kunde",
        "col_security": "Wertpapier",
        "col_alert_day": "Alert vom",
        "col_deadline": "Frist bis",
        "col_days_open": "Tage offen",
        "status_open": "offen",
        "status_missed": "verpasst",
        "txt_alert_line": "Alert vom {day}, Frist bis {deadline}, {days} offen",
        "txt_day": "1 Geschäftstag",
        "txt_days": "{n} Geschäftstage",
        "branches": "Filialen",
        "branches_intro": "Niedrigste Quote zuerst. Orange markiert: unter dem Ziel von {target}.",
        "branches_intro_text": "Niedrigste Quote zuerst. ! = unter dem Ziel von {target}.",
        "no_branches": "In dieser Woche hatte keine Filiale Alerts oder Aktivitäten.",
        "bank_total": "Bank gesamt",
        "trend_table": "Adoptionsquote der letzten {weeks} Wochen",
        "col_week": "Woche",
        "empty_week": "In {week} gab es {where} keine Alerts: es gab nichts nachzufassen, "
        "daher keine Diagramme zu Quote und Kontaktzeit.",
        "where_branch": "in der {branch}",
        "where_bank": "in der Bank",
        "no_adoption": "Noch kein Alert dieser Woche hat ein bekanntes Ergebnis: alle "
        "{open} Alerts sind offen, ihre Frist läuft noch. Daher noch kein Diagramm der "
        "Adoptionsquote.",
        "no_hours": "Zu den Alerts dieser Woche ist noch kein Kontakt erfasst, daher kein "
        "Diagramm der Kontaktzeiten.",
        "no_trend": "In den letzten {weeks} Wochen gab es {where} keinen Alert mit bekanntem "
        "Ergebnis, daher kein Trenddiagramm.",
        "alt_adoption": "Balkendiagramm: Adoptionsquote je Berater, {week}",
        "alt_trend": "Liniendiagramm: Adoptionsquote der letzten {weeks} Wochen",
        "alt_hours": "Balkendiagramm: Stunden bis zum ersten Kontakt je Berater, {week}",
        "definitions": "So wird gezählt",
        "def_alert": "Alert: ein betroffener Kunde an einem Geschäftstag (Tag der "
        "Ratingänderung), gleich ob der Kunde per E-Mail informiert werden konnte.",
        "def_sla": "Fristgerecht nachgefasst: Die Beraterin oder der Berater des Kunden hat "
        "vom Alert-Tag bis zum Ende des {n}. Geschäftstags danach eine CRM-Aktivität zu "
        "diesem Kunden erfasst. Wochenenden und bundesweite Feiertage sind keine "
        "Geschäftstage.",
        "def_sla_1": "Fristgerecht nachgefasst: Die Beraterin oder der Berater des Kunden hat "
        "vom Alert-Tag bis zum Ende des folgenden Geschäftstags eine CRM-Aktivität zu diesem "
        "Kunden erfasst. Wochenenden und bundesweite Feiertage sind keine Geschäftstage.",
        "def_rate": "Adoptionsquote: fristgerecht nachgefasste Alerts geteilt durch die Alerts "
        "mit bekanntem Ergebnis (nachgefasst oder verpasst). Offene Alerts, deren Frist noch "
        "läuft, zählen nicht als verpasst und nicht in der Quote.",
        "def_informed": "Kunden innerhalb eines Tages informiert: Anteil der Kunden mit Alert, "
        "die bis zum Ende des folgenden Kalendertags eine E-Mail erhalten haben oder von "
        "ihrer Beraterin oder ihrem Berater kontaktiert wurden.",
        "def_trades": "Folgegeschäft: Der Kunde hat vom Alert-Tag bis zum 10. Kalendertag "
        "danach ein Wertpapier des Alerts gehandelt; gezählt werden solche Alerts.",
        "def_activities": "Aktivitäten erfasst: jede CRM-Aktivität der Woche, zu jedem Kunden.",
        "def_hours": "Zeit bis zum ersten Kontakt: ab Versand der Arbeitsliste, als Median.",
        "def_days_open": "Tage offen: Geschäftstage seit dem Alert. Frist bis: der letzte "
        "Geschäftstag, an dem ein Kontakt noch als fristgerecht zählt.",
        "def_loaded": "Die Zahlen enthalten alle CRM-Aktivitäten, die beim Erstellen des "
        "Berichts geladen waren.",
        "business_day": "1 Geschäftstag",
        "business_days": "{n} Geschäftstagen",
        "business": "Folgegeschäft in Euro",
        "volume": "Volumen: {value}",
        "fee": "Provisionen: {value}",
        "fee_estimated": "davon {value} geschätzt ({rate} des Volumens ohne fee_eur, "
        "VOTUM_FEE_RATE)",
        "fee_unknown": "Keine Provisionszahl: Für Geschäfte mit {value} Volumen liefert die "
        "Bank kein fee_eur, und VOTUM_FEE_RATE ist nicht gesetzt; daher nur das Volumen.",
        "baseline": "Folgegeschäfte: beobachtet {observed}, erwartet ohne Alert {expected} "
        "(Vergleichsgruppe), Differenz {difference}; Vergleichsgruppe: {clients} Kunden",
        "baseline_small": "Folgegeschäfte: beobachtet {observed}, erwartet ohne Alert: zu "
        "wenig Daten (Vergleichsgruppe: {clients} Kunden, mindestens {minimum} nötig)",
        "goals_intro": "Die drei CRM-Ziele: Kunden innerhalb eines Tages informiert, Alerts "
        "fristgerecht nachgefasst, Folgegeschäft in Euro.",
        "goal_fee_target": "Ziel: {value} pro Woche",
        "no_fee_target": "kein Ziel gesetzt (VOTUM_GOAL_FEE_EUR_WEEKLY)",
        "goals_trend": "Die drei Ziele in den letzten {weeks} Wochen",
        "col_volume": "Volumen",
        "col_fee": "Provisionen",
        "col_expected": "Erwartet ohne Alert",
        "col_difference": "Differenz",
        "business_by_branch": "Folgegeschäft nach Filialen",
        "business_intro": "Höchstes Volumen zuerst. Erwartet ohne Alert: aus der "
        "Vergleichsgruppe (siehe unten); „zu wenig Daten“ unter {minimum} Kunden.",
        "too_little": "zu wenig Daten",
        "fee_none": "nur Volumen",
        "def_volume": "Volumen der Folgegeschäfte: Stückzahl mal Kurs der Geschäfte in einem "
        "Wertpapier eines Alerts innerhalb seines Fensters (Alert-Tag bis 10. Kalendertag "
        "danach). Ein Geschäft, das auf mehrere Alerts folgt, zählt in Euro einmal, beim "
        "frühesten dieser Alerts; die Zahl der Folgegeschäfte zählt dagegen Alerts.",
        "def_fee": "Provisionen: fee_eur aus transactions.csv, wo geliefert; sonst, wenn "
        "VOTUM_FEE_RATE gesetzt ist, Volumen mal diesem Satz (als geschätzt ausgewiesen); "
        "sonst keine Provisionszahl.",
        "def_baseline": "Vergleichsgruppe (Baseline): Positionen von Kunden derselben "
        "Filialen an denselben Geschäftstagen in Wertpapieren mit Research-Rating, deren "
        "Rating sich vom 10. Kalendertag davor bis zum 10. Kalendertag danach nicht "
        "geändert hat. Ihre Handelsquote (Anteil der Positionen, in denen der Kunde im "
        "gleichen Fenster wie bei einem Alert gehandelt hat) mal die Zahl der Alerts ergibt "
        "die ohne Alert erwarteten Folgegeschäfte. Ein Vergleich, kein Nachweis einer "
        "Wirkung; unter {minimum} Kunden in der Vergleichsgruppe: zu wenig Daten.",
    },
    "en": {
        "title": "Adoption report: {who} – {week} ({period})",
        "bank_who": "whole bank",
        "intro": "Who follows up on rating-change alerts? Target: {target} of alerts followed "
        "up within {sla}.",
        "intro_bank": "How do the branches follow up on rating-change alerts? Target: "
        "{target} of alerts followed up within {sla}.",
        "headline": "This week's figures",
        "informed": "Clients informed within one day",
        "adoption": "Alerts followed up within the deadline",
        "trades": "Follow-up trades from alerts",
        "vs_bank": "Whole bank: {value}",
        "target": "Target: {value}",
        "change_points": "{arrow} {value} points on last week",
        "change_count": "{arrow} {value} on last week",
        "unchanged": "unchanged from last week",
        "no_previous": "last week: not available",
        "not_available": "n/a",
        "no_value": "–",
        "no_informed": "no alerted clients",
        "no_rate": "no alert with a known outcome yet",
        "alerts": "Alerts",
        "open": "open",
        "missed": "missed",
        "activities": "activities logged",
        "opt_outs": "client opt-outs",
        "median_hours": "median to first contact",
        "median_minutes_to_inbox": "median intraday batch to client email",
        "charts": "Charts",
        "advisors": "Advisors",
        "advisors_intro": "Lowest rate first. Marked orange: below the target of {target}.",
        "advisors_intro_text": "Lowest rate first. ! = below the target of {target}.",
        "no_advisors": "No advisor of the branch had alerts or activities this week.",
        "col_advisor": "Advisor",
        "col_alerts": "Alerts",
        "col_followed": "Followed up in time",
        "col_missed": "Missed",
        "col_open": "Open",
        "col_rate": "Rate",
        "col_hours": "Median to contact",
        "col_trades": "Follow-up trades",
        "col_activities": "Activ\u00adities",
        "col_informed": "Clients informed ≤ 1 day",
        "col_branch": "Branch",
        "txt_followed": "in time",
        "txt_missed": "missed",
        "txt_open": "open",
        "txt_rate": "rate",
        "txt_hours": "median",
        "txt_trades": "trades",
        "txt_activities": "activ.",
        "txt_informed": "inform.≤1d",
        "unfollowed": "Alerts without follow-up",
        "unfollowed_intro": "Missed first, then the longest open.",
        "no_unfollowed": "None: no alert of this branch is open or missed.",
        "more_unfollowed": "… and {count} more; open_alerts.csv has the complete list.",
        "col_status": "Status",
        "col_client": "Client",
        "col_security": "Security",
        "col_alert_day": "Alert on",
        "col_deadline": "Deadline",
        "col_days_open": "Days open",
        "status_open": "open",
        "status_missed": "missed",
        "txt_alert_line": "alert on {day}, deadline {deadline}, {days} open",
        "txt_day": "1 business day",
        "txt_days": "{n} business days",
        "branches": "Branches",
        "branches_intro": "Lowest rate first. Marked orange: below the target of {target}.",
        "branches_intro_text": "Lowest rate first. ! = below the target of {target}.",
        "no_branches": "No branch had alerts or activities this week.",
        "bank_total": "Whole bank",
        "trend_table": "Adoption rate over the last {weeks} weeks",
        "col_week": "Week",
        "empty_week": "There were no alerts {where} in {week}: nothing to follow up, so no "
        "charts of the rate and the contact times.",
        "where_branch": "in {branch}",
        "where_bank": "in the bank",
        "no_adoption": "No alert of this week has a known outcome yet: all {open} alerts are "
        "open, their deadline has not passed. So no adoption chart yet.",
        "no_hours": "No contact has been logged for this week's alerts yet, so no chart of "
        "contact times.",
        "no_trend": "There was no alert with a known outcome {where} in the last {weeks} "
        "weeks, so no trend chart.",
        "alt_adoption": "Bar chart: adoption rate by advisor, {week}",
        "alt_trend": "Line chart: adoption rate over the last {weeks} weeks",
        "alt_hours": "Bar chart: hours to first contact by advisor, {week}",
        "definitions": "How we count",
        "def_alert": "Alert: one affected client on one business day (the day of the rating "
        "change), whether or not the client could be emailed.",
        "def_sla": "Followed up within the deadline: the client's own advisor logged a CRM "
        "activity for the client from the alert day until the end of the {nth} business day "
        "after it. Weekends and German nationwide public holidays are not business days.",
        "def_sla_1": "Followed up within the deadline: the client's own advisor logged a CRM "
        "activity for the client from the alert day until the end of the next business day. "
        "Weekends and German nationwide public holidays are not business days.",
        "def_rate": "Adoption rate: alerts followed up within the deadline over the alerts "
        "with a known outcome (followed up, or missed). Open alerts, whose deadline has not "
        "passed, are not counted as missed and not in the rate.",
        "def_informed": "Clients informed within one day: the share of alerted clients who "
        "were emailed or contacted by their advisor by the end of the next calendar day.",
        "def_trades": "Follow-up trade: the client traded a security of the alert from the "
        "alert day through the 10th calendar day after it; such alerts are counted.",
        "def_activities": "Activities logged: every CRM activity of the week, for any client.",
        "def_hours": "Time to first contact: from the sending of the worklist, as a median.",
        "def_days_open": "Days open: business days since the alert. Deadline: the last "
        "business day on which a contact still counts as in time.",
        "def_loaded": "The figures include every CRM activity loaded when the report was made.",
        "business_day": "1 business day",
        "business_days": "{n} business days",
        "business": "Follow-up business in euros",
        "volume": "volume: {value}",
        "fee": "fee income: {value}",
        "fee_estimated": "of which {value} estimated ({rate} of the volume without fee_eur, "
        "VOTUM_FEE_RATE)",
        "fee_unknown": "No fee figure: trades worth {value} carry no fee_eur and "
        "VOTUM_FEE_RATE is not set, so volume only.",
        "baseline": "follow-up trades: observed {observed}, expected without alert "
        "{expected} (baseline), difference {difference}; baseline: {clients} clients",
        "baseline_small": "follow-up trades: observed {observed}, expected without alert: "
        "not enough data (baseline: {clients} clients, at least {minimum} needed)",
        "goals_intro": "The three CRM goals: clients informed within one day, alerts followed "
        "up within the deadline, follow-up business in euros.",
        "goal_fee_target": "Target: {value} a week",
        "no_fee_target": "no target set (VOTUM_GOAL_FEE_EUR_WEEKLY)",
        "goals_trend": "The three goals over the last {weeks} weeks",
        "col_volume": "Volume",
        "col_fee": "Fee income",
        "col_expected": "Expected without alert",
        "col_difference": "Difference",
        "business_by_branch": "Follow-up business by branch",
        "business_intro": "Highest volume first. Expected without alert: from the baseline "
        '(see below); "not enough data" below {minimum} clients.',
        "too_little": "not enough data",
        "fee_none": "volume only",
        "def_volume": "Follow-up volume: quantity times price of the trades in a security of "
        "an alert within its window (the alert day through the 10th calendar day after it). "
        "A trade that follows several alerts counts once in euros, for the earliest of them; "
        "the number of follow-up trades counts alerts.",
        "def_fee": "Fee income: fee_eur from transactions.csv where given; else, where "
        "VOTUM_FEE_RATE is set, volume times that rate (shown as estimated); else no fee "
        "figure.",
        "def_baseline": "Baseline: positions of clients of the same branches on the same "
        "business days in securities with a research rating whose rating did not change "
        "from the 10th calendar day before through the 10th calendar day after. Their trade "
        "rate (the share of positions the client traded within the same window as an "
        "alert's) times the number of alerts gives the trades expected without an alert. A "
        "comparison, not proof of an effect; below {minimum} clients in the baseline: not "
        "enough data.",
    },
}


def language_of(value: str) -> str:
    return "en" if value == "en" else "de"
