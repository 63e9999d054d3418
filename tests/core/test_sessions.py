"""A session cookie no server could have issued is no session, never a server error."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("key", ["0000000\x00", "abcdefgh\x00ijk", "\u00e9" * 32])
def test_a_forged_session_key_is_treated_as_no_session(client, key):
    response = client.get("/admin/", HTTP_COOKIE=f"sessionid={key}")
    assert response.status_code == 302  # to the login page, not a 500
    assert "/login/" in response["Location"]


def test_an_issued_session_still_works(client, superuser):
    client.force_login(superuser)
    assert client.get("/admin/").status_code == 200
