"""The report's Jinja templates (the branch report, the bank summary, the advisor's
week) and their environment: autoescape on for ``*.html.j2``, off for ``*.txt.j2``. One
HTML template gives both the email (images as ``cid:``) and the file (images by name)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import Environment

from flows.templating import template_environment

BRANCH_HTML = "branch_report.html.j2"
BRANCH_TEXT = "branch_report.txt.j2"
BANK_HTML = "bank_report.html.j2"
BANK_TEXT = "bank_report.txt.j2"
HTML_TEMPLATES = (BRANCH_HTML, BANK_HTML, "advisor_week.html.j2")
TEXT_TEMPLATES = (BRANCH_TEXT, BANK_TEXT, "advisor_week.txt.j2")


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The template environment: autoescape on for ``*.html.j2``, off for ``*.txt.j2``."""
    return template_environment("flows.report", HTML_TEMPLATES, TEXT_TEMPLATES)


def _render(name: str, context: Mapping[str, Any]) -> str:
    return environment().get_template(name).render(**context)


def render_documents(
    html_name: str, text_name: str, context: dict[str, Any]
) -> tuple[str, str, str]:
    html_email = _render(html_name, {**context, "image_prefix": "cid:"})
    html_file = _render(html_name, {**context, "image_prefix": ""})
    text = _render(text_name, context)
    return html_email, html_file, text
