"""The Jinja2 environments of votum's emails and reports: autoescape on for
``*.html.j2``, off for ``*.txt.j2``, unknown variables an error. Each environment checks
at creation that its HTML templates really are escaped and its text templates are not
(a template renamed to another extension would otherwise change silently)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape


def template_environment(
    package: str,
    html_templates: Iterable[str],
    text_templates: Iterable[str],
    filters: Mapping[str, Callable[..., Any]] | None = None,
) -> Environment:
    """The environment of the templates in ``<package>/templates``."""
    env = Environment(
        loader=PackageLoader(package, "templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html.j2",), default_for_string=False, default=False
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(filters or {})
    autoescape = env.autoescape
    for name in html_templates:
        if not (autoescape(name) if callable(autoescape) else autoescape):
            raise RuntimeError(f"autoescape is off for HTML template {name}")
    for name in text_templates:
        if autoescape(name) if callable(autoescape) else autoescape:
            raise RuntimeError(f"autoescape is on for text template {name}")
    return env
