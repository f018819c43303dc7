"""The one settings object: VOTUM_* variables and .env."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.errors import ConfigurationError
from flows.settings import get_settings


def test_defaults_put_everything_under_var(
    votum_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VOTUM_HOME")
    settings = get_settings()
    assert settings.home_dir == (votum_home.parent / "var").resolve()
    assert settings.warehouse_path == settings.home_dir / "warehouse.duckdb"
    assert settings.prefect_home == settings.home_dir / "prefect"
    assert settings.sla_business_days == 2
    assert settings.max_change_share == 0.25


def test_environment_and_dotenv(votum_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Path(".env").write_text("VOTUM_SMTP_PORT=2525\nVOTUM_SMTP_SECURITY=ssl\n", encoding="utf-8")
    monkeypatch.setenv("VOTUM_SLA_BUSINESS_DAYS", "3")
    monkeypatch.setenv("VOTUM_SMTP_PASSWORD", "s3cret-value")
    settings = get_settings()
    assert (settings.smtp_port, settings.smtp_security, settings.sla_business_days) == (
        2525,
        "ssl",
        3,
    )
    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == "s3cret-value"
    assert "s3cret-value" not in repr(settings)
    assert "s3cret-value" not in str(settings.model_dump())


def test_invalid_setting_names_the_variable_not_the_value(
    votum_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VOTUM_SMTP_SECURITY", "tls-please")
    with pytest.raises(ConfigurationError) as raised:
        get_settings()
    assert "VOTUM_SMTP_SECURITY" in str(raised.value)
    assert "tls-please" not in str(raised.value)


def test_runtime_environment_points_prefect_under_home(
    votum_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_HOME")
    get_settings().apply_runtime_environment()
    import os

    assert os.environ["PREFECT_HOME"] == str(votum_home.resolve() / "prefect")
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
