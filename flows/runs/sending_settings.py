"""The settings a command that builds or sends emails needs, checked when such a command
starts, before anything is claimed: a wrong sender address or opt-out link would
otherwise make every email of the day ``failed`` for good, a login without a password
would end in a prompt, and a login over plain SMTP would send the password in clear.

Commands that send nothing (``status``, ``generate``, ``suppress``, a backfill) are not
refused for a mail setting. Messages name the variable and the rule, never the value (it
may be a secret, and an address is personal data).
"""

from __future__ import annotations

from flows.errors import ConfigurationError
from flows.notify.addresses import address_problem
from flows.settings import Settings
from flows.urls import is_loopback_host, unsubscribe_url_problem


def message_setting_problems(settings: Settings) -> list[str]:
    """What keeps emails from being built: the sender, the opt-out link and addresses."""
    problems: list[str] = []
    problem = address_problem(settings.mail_from)
    if problem:
        problems.append(f"VOTUM_MAIL_FROM: {problem} (the sender of every email)")
    problem = unsubscribe_url_problem(settings.unsubscribe_url)
    if problem:
        problems.append(f"VOTUM_UNSUBSCRIBE_URL: {problem}")
    optional = {
        "VOTUM_UNSUBSCRIBE_ADDRESS": settings.unsubscribe_address,
        "VOTUM_OPS_ALERT_TO": settings.ops_alert_to,
        "VOTUM_REPORT_SUMMARY_TO": settings.report_summary_to,
    }
    for variable, address in optional.items():
        problem = address_problem(address) if address is not None else None
        if problem:
            problems.append(f"{variable}: {problem}")
    return problems


def smtp_setting_problems(settings: Settings) -> list[str]:
    """What keeps votum from logging in to the mail server safely."""
    problems: list[str] = []
    if settings.smtp_user and settings.smtp_password is None:
        problems.append(
            "VOTUM_SMTP_USER is set but VOTUM_SMTP_PASSWORD is not: set both for a login, "
            "or neither to send without one"
        )
    if (
        settings.smtp_user
        and settings.smtp_security == "none"
        and not is_loopback_host(settings.smtp_host)
    ):
        problems.append(
            "VOTUM_SMTP_SECURITY=none with VOTUM_SMTP_USER set would send the password in "
            "clear to VOTUM_SMTP_HOST: use starttls or ssl (plain SMTP with a login only to "
            "localhost)"
        )
    return problems


def check_sending_settings(settings: Settings, *, smtp: bool = True) -> None:
    """Raise :class:`ConfigurationError` naming every unusable sending setting;
    ``smtp=False`` for commands that build emails without sending them (previews)."""
    problems = message_setting_problems(settings)
    if smtp:
        problems += smtp_setting_problems(settings)
    if problems:
        raise ConfigurationError(
            "Invalid configuration, nothing was planned or sent: " + "; ".join(problems)
        )
