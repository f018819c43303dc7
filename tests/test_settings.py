"""The one settings object: VOTUM_* variables and .env."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.errors import ConfigurationError
from flows.runs.sending_settings import check_sending_settings
from flows.settings import Settings, get_settings
from flows.urls import is_loopback_host, web_link_problem


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


@pytest.mark.parametrize(
    ("variables", "named", "secret"),
    [
        ({"VOTUM_MAIL_FROM": "research alerts@bank"}, "VOTUM_MAIL_FROM", "alerts@bank"),
        (
            {"VOTUM_UNSUBSCRIBE_URL": "http://bank.example/u"},
            "VOTUM_UNSUBSCRIBE_URL: must be https://",
            "bank.example/u",
        ),
        (
            {"VOTUM_UNSUBSCRIBE_URL": 'https://bank.example/u"><script>'},
            "VOTUM_UNSUBSCRIBE_URL: contains whitespace, quotes",
            "script",
        ),
        (
            {"VOTUM_UNSUBSCRIBE_URL": "https://bank.example/u?x=1"},
            "VOTUM_UNSUBSCRIBE_URL: must not carry a query",
            "x=1",
        ),
        (
            {"VOTUM_SMTP_USER": "svc_votum_4711"},
            "VOTUM_SMTP_USER is set but VOTUM_SMTP_PASSWORD is not",
            "svc_votum_4711",
        ),
        (
            {
                "VOTUM_SMTP_USER": "svc_votum_4711",
                "VOTUM_SMTP_PASSWORD": "pw-never-shown",
                "VOTUM_SMTP_SECURITY": "none",
                "VOTUM_SMTP_HOST": "relay.bank.example",
            },
            "VOTUM_SMTP_SECURITY=none with VOTUM_SMTP_USER set would send the password in clear",
            "pw-never-shown",
        ),
        ({"VOTUM_OPS_ALERT_TO": "ops at bank"}, "VOTUM_OPS_ALERT_TO", "ops at bank"),
    ],
)
def test_unusable_sending_settings_are_refused_naming_the_variable_not_the_value(
    votum_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    variables: dict[str, str],
    named: str,
    secret: str,
) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    settings = get_settings()  # commands that send nothing still start
    with pytest.raises(ConfigurationError) as raised:
        check_sending_settings(settings)
    assert named in str(raised.value) and secret not in str(raised.value)
    assert raised.value.exit_code == 2


def test_usable_sending_settings_pass_and_previews_need_no_login(
    votum_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    check_sending_settings(get_settings())  # the defaults
    # Plain SMTP with a login to this machine, a local opt-out service over http.
    monkeypatch.setenv("VOTUM_SMTP_USER", "svc_votum")
    monkeypatch.setenv("VOTUM_SMTP_PASSWORD", "pw")
    monkeypatch.setenv("VOTUM_SMTP_SECURITY", "none")
    monkeypatch.setenv("VOTUM_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("VOTUM_UNSUBSCRIBE_URL", "http://127.0.0.1:8080/unsubscribe")
    check_sending_settings(get_settings())
    monkeypatch.setenv("VOTUM_SMTP_HOST", "mail.bank.example")
    monkeypatch.delenv("VOTUM_SMTP_PASSWORD")
    with pytest.raises(ConfigurationError):
        check_sending_settings(get_settings())
    check_sending_settings(get_settings(), smtp=False)  # a preview logs in nowhere


def test_loopback_hosts_and_web_links() -> None:
    assert all(is_loopback_host(h) for h in ("localhost", "127.0.0.1", "127.8.9.1", "::1"))
    assert not any(is_loopback_host(h) for h in ("bank.example", "10.0.0.1", "", None))
    assert web_link_problem("https://bank.example/unsubscribe") is None
    assert web_link_problem("http://localhost:8080/u") is None
    assert web_link_problem("http://[::1]:8080/u") is None
    assert web_link_problem("http://127.0.0.1.bank.example/u") is not None
    assert web_link_problem("https://user:pw@bank.example/u") is not None
    assert web_link_problem("/unsubscribe") is not None
    assert web_link_problem("javascript:alert(1)") is not None


def test_a_copy_with_another_home_has_that_home_s_paths(tmp_path: Path) -> None:
    first = Settings(home=tmp_path / "first")
    assert first.warehouse_path == (tmp_path / "first" / "warehouse.duckdb").resolve()
    copy = first.model_copy(update={"home": tmp_path / "second"})
    assert copy.warehouse_path == (tmp_path / "second" / "warehouse.duckdb").resolve()
