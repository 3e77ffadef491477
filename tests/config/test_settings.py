"""Settings are read once per process, so each case starts a fresh interpreter."""

import base64
import io

import pytest
import zxingcpp
from PIL import Image

from core import env
from tests.factories import PRODUCTION, run_manage


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("DEBUG", "maybe", "DEBUG: expected a boolean"),
        (
            "DATABASE_URL",
            "mysql://root@localhost/db",
            "DATABASE_URL: unsupported database URL scheme 'mysql'",
        ),
        ("PUBLIC_BASE_URL", "supervision.example.gov.cn", "PUBLIC_BASE_URL: expected an absolute http"),
        ("SECURE_HSTS_SECONDS", "a year", "SECURE_HSTS_SECONDS: expected a whole number"),
        ("SECRET_KEY", "short", "SECRET_KEY: must be at least 50 characters"),
        ("API_TOKEN_TTL_DAYS", "0", "API_TOKEN_TTL_DAYS: must be at least 1"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_variable(variable, value, message):
    result = run_manage("check", **{**PRODUCTION, variable: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_production_needs_a_secret_key():
    environ = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = run_manage("check", **environ)
    assert result.returncode != 0
    assert "SECRET_KEY: this environment variable must be set when DEBUG is off" in result.stderr


def test_deploy_check_is_clean_with_production_values():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_development_makes_its_own_key_outside_the_repository(tmp_path):
    result = run_manage("check", DEBUG="1", VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert len((tmp_path / "dev-secret-key").read_text()) >= 50


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("yes", True), ("ON", True), ("0", False), ("false", False), ("", False)],
)
def test_booleans(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env.env_bool("FLAG", not expected) is expected


def test_lists_drop_blanks(monkeypatch):
    monkeypatch.setenv("HOSTS", " a.example, ,b.example ")
    assert env.env_list("HOSTS", []) == ["a.example", "b.example"]


def test_postgres_urls_are_parsed(monkeypatch):
    monkeypatch.setenv("DB", "postgres://postgres@127.0.0.1:5432/supervision")
    config = env.env_database("DB", "sqlite:///x.sqlite3")
    assert config["ENGINE"] == "django.db.backends.postgresql" and config["NAME"] == "supervision"


def test_a_database_url_without_a_name_is_refused(monkeypatch):
    monkeypatch.setenv("DB", "postgres://postgres@127.0.0.1:5432")
    with pytest.raises(Exception, match="DB: the database URL names no database"):
        env.env_database("DB", "sqlite:///x.sqlite3")


def test_the_public_base_url_loses_its_trailing_slash(monkeypatch):
    monkeypatch.setenv("URL", "https://example.gov.cn/")
    assert env.env_url("URL", "http://x") == "https://example.gov.cn"


@pytest.mark.parametrize("port", ["8101", "9123"])
def test_a_server_on_another_port_prints_codes_that_point_to_it(tmp_path, port):
    """PUBLIC_BASE_URL unset: the code a server started with PORT prints decodes to that port."""
    script = (
        "import base64; from core.codes import code_url; from core.qr import qr_png; "
        "print(base64.b64encode(qr_png(code_url('ABCDEFGHJKMN'))).decode())"
    )
    # An empty PUBLIC_BASE_URL is unset (core.env), whatever the environment running the tests says.
    result = run_manage(
        "shell", "-c", script, DEBUG="1", PORT=port, PUBLIC_BASE_URL="", VAR_DIR=str(tmp_path)
    )
    assert result.returncode == 0, result.stderr

    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(base64.b64decode(result.stdout.split()[-1]))))

    assert [barcode.text for barcode in decoded] == [f"http://127.0.0.1:{port}/c/ABCDEFGHJKMN"]
