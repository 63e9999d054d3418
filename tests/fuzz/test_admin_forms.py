"""Admin forms with arbitrary text: a form with a message, or a save; never a server error."""

from __future__ import annotations

import unicodedata
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz.tally import FUZZ, record

pytestmark = pytest.mark.django_db

# NUL, controls, combining marks, RTL override, astral characters, very long runs.
FULLWIDTH_ADMIN = "\uff21\uff44\uff4d\uff49\uff4e"  # NFKC turns it into "Admin"
text = st.text(max_size=300) | st.sampled_from(
    ["\x00", "a\x00b", " ", "\t\n", "\u202eevil", "ﬁ", FULLWIDTH_ADMIN, "💥" * 200, "x" * 5000]
)
# Half the time a name Django accepts, so the save path is fuzzed as well as the refusals.
username_text = text | st.from_regex(r"[\w.@+-]{1,150}", fullmatch=True)
# Half the time the confirmation matches.
password_pair = st.tuples(text, text) | text.map(lambda p: (p, p))
ERROR_MARKERS = ('class="errornote"', 'class="errorlist')


def shows_an_error(response) -> bool:
    page = response.content.decode()
    return any(marker in page for marker in ERROR_MARKERS)


def outcome(name: str, response) -> int:
    status = response.status_code
    record(name, status)
    # 400: a body Django will not parse (e.g. a multipart field name over its header limit).
    assert status in (200, 302, 400), status
    if status == 200:
        assert shows_an_error(response), "a refused form must say why"
    return status


@pytest.fixture
def target(django_user_model):
    return django_user_model.objects.create_user("target", "target@example.com", "Target-pass-1")


@FUZZ
@given(username=username_text, passwords=password_pair)
@example(username=" padded", passwords=("Padded-pass-123", "Padded-pass-123"))  # found in CI
def test_user_add_form_with_any_text(admin_client_500, username, passwords):
    password1, password2 = passwords
    form = {
        "username": username,
        "password1": password1,
        "password2": password2,
        "usable_password": "true",
        "_save": "Save",
    }
    response = admin_client_500.post("/admin/auth/user/add/", form)
    if outcome("admin: add user", response) == 302:
        # As the form reads it: stripped (CharField), then NFKC (UsernameField).
        saved = get_user_model().objects.get(
            username=unicodedata.normalize("NFKC", username.strip())
        )
        assert saved.check_password(password1)


VALID_CHANGE = {
    "username": "changed",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "is_active": "on",
    "date_joined_0": "2025-01-02",
    "date_joined_1": "10:00:00",
    "initial-date_joined_0": "2025-01-01",
    "initial-date_joined_1": "00:00:00",
}


@FUZZ
@given(
    # A valid form with a few fields (none, some, all) replaced by arbitrary text: saves and
    # refusals both get exercised.
    replaced=st.dictionaries(st.sampled_from(sorted(VALID_CHANGE)), username_text, max_size=4),
    extra=st.dictionaries(text, text, max_size=2),
)
def test_user_change_form_with_any_text(admin_client_500, target, replaced, extra):
    form = {**extra, **VALID_CHANGE, **replaced, "_save": "Save"}
    response = admin_client_500.post(f"/admin/auth/user/{target.pk}/change/", form)
    if outcome("admin: change user", response) == 302:
        target.refresh_from_db()
        assert target.username == unicodedata.normalize("NFKC", form["username"])
        assert target.first_name == form["first_name"].strip()


@FUZZ
@given(passwords=password_pair)
def test_admin_password_change_with_any_text(admin_client_500, target, passwords):
    password1, password2 = passwords
    form = {"password1": password1, "password2": password2, "usable_password": "true"}
    response = admin_client_500.post(f"/admin/auth/user/{target.pk}/password/", form)
    if outcome("admin: set password", response) == 302:
        target.refresh_from_db()
        assert target.check_password(password1)


@FUZZ
@given(name=text, permissions=st.lists(text | st.integers().map(str), max_size=4))
def test_group_add_form_with_any_text(admin_client_500, name, permissions):
    form = {"name": name, "permissions": permissions, "_save": "Save"}
    response = admin_client_500.post("/admin/auth/group/add/", form)
    if outcome("admin: add group", response) == 302:
        assert Group.objects.filter(name=name.strip()).exists()


@FUZZ
@given(search=text, order=text, page=text)
def test_changelist_search_with_any_text(admin_client_500, search, order, page):
    response = admin_client_500.get("/admin/auth/user/", {"q": search, "o": order, "p": page})
    record("admin: search users", response.status_code)
    # 302: Django's changelist sends nonsense filters and orderings back to ?e=1.
    assert response.status_code in (200, 302, 404)


@FUZZ
@given(username=text, password=text, otp_token=text)
def test_login_form_with_any_text(anonymous, superuser, username, password, otp_token):
    response = anonymous.post(
        "/admin/login/",
        {"username": username, "password": password, "otp_token": otp_token},
        # Each input from its own address: the lockout would otherwise answer for the form.
        REMOTE_ADDR=f"198.18.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}",
    )
    record("admin: login", response.status_code)
    assert response.status_code in (200, 429)
    if response.status_code == 200:
        assert shows_an_error(response)


def test_an_overlong_username_at_login_is_a_form_error(anonymous):
    # Found by the property above: the lockout stored the name in a 255-character column.
    response = anonymous.post("/admin/login/", {"username": "x" * 256, "password": "p"})
    assert response.status_code == 200
    assert "at most 150 characters" in response.content.decode()


@pytest.mark.parametrize("permission", [str(2**63), str(-(2**63) - 1), "1" + "0" * 40])
def test_an_out_of_range_id_in_a_many_to_many_field_is_a_form_error(admin_client_500, permission):
    # Found by the group property on SQLite: the `in` query raised OverflowError there.
    form = {"name": "out of range", "permissions": [permission], "_save": "Save"}
    response = admin_client_500.post("/admin/auth/group/add/", form)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not Group.objects.filter(name="out of range").exists()
