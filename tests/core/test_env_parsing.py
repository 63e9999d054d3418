import pytest

from settings import env
from settings.env import EnvError


def test_missing_required_variable_names_it(monkeypatch):
    monkeypatch.delenv("ADMIN2_SOMETHING", raising=False)
    with pytest.raises(EnvError, match="ADMIN2_SOMETHING: required"):
        env.env_str("ADMIN2_SOMETHING")


@pytest.mark.parametrize("value", ["maybe", "2", "tru"])
def test_malformed_boolean_is_refused_with_its_name(monkeypatch, value):
    monkeypatch.setenv("DJANGO_DEBUG", value)
    with pytest.raises(EnvError, match="DJANGO_DEBUG: expected a boolean"):
        env.env_bool("DJANGO_DEBUG")


def test_malformed_integer_is_refused_with_its_name(monkeypatch):
    monkeypatch.setenv("POSTGRES_PORT", "54x")
    with pytest.raises(EnvError, match="POSTGRES_PORT: expected an integer"):
        env.env_int("POSTGRES_PORT")


def test_integer_below_minimum_is_refused(monkeypatch):
    monkeypatch.setenv("POSTGRES_PORT", "0")
    with pytest.raises(EnvError, match="POSTGRES_PORT: must be at least 1"):
        env.env_int("POSTGRES_PORT", minimum=1)


def test_secret_is_read_from_file(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s3cr3t-value\n")
    monkeypatch.delenv("POSTGRES_PASSWORD", raising=False)
    monkeypatch.setenv("POSTGRES_PASSWORD_FILE", str(secret))
    assert env.env_str("POSTGRES_PASSWORD", secret=True) == "s3cr3t-value"


def test_unreadable_secret_file_names_the_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("POSTGRES_PASSWORD_FILE", str(tmp_path / "absent"))
    with pytest.raises(EnvError, match="POSTGRES_PASSWORD_FILE: cannot read"):
        env.env_str("POSTGRES_PASSWORD", secret=True)


def test_secret_given_twice_is_refused(monkeypatch, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("a")
    monkeypatch.setenv("POSTGRES_PASSWORD", "b")
    monkeypatch.setenv("POSTGRES_PASSWORD_FILE", str(secret))
    with pytest.raises(EnvError, match="either POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE"):
        env.env_str("POSTGRES_PASSWORD", secret=True)


def test_list_is_split_on_commas(monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOWED_HOSTS", " admin2.example.com, ,localhost ")
    assert env.env_list("DJANGO_ALLOWED_HOSTS") == ["admin2.example.com", "localhost"]


def test_database_url_becomes_django_database():
    db = env.database_from_url("DATABASE_URL", "postgres://u%40x:p%2Fw@db.internal:6543/app")
    assert db["USER"] == "u@x"
    assert db["PASSWORD"] == "p/w"
    assert (db["HOST"], db["PORT"], db["NAME"]) == ("db.internal", "6543", "app")


@pytest.mark.parametrize(
    ("url", "message"),
    [("mysql://h/db", "only postgres"), ("postgres://h", "names no database")],
)
def test_bad_database_url_is_refused(url, message):
    with pytest.raises(EnvError, match=f"DATABASE_URL: .*{message}"):
        env.database_from_url("DATABASE_URL", url)


def test_choice_outside_the_set_is_refused(monkeypatch):
    monkeypatch.setenv("DJANGO_ENVIRONMENT", "prod")
    with pytest.raises(EnvError, match="DJANGO_ENVIRONMENT: expected one of"):
        env.env_choice("DJANGO_ENVIRONMENT", ("development", "production"))
