import pytest

pytestmark = pytest.mark.django_db


def test_root_redirects_to_the_admin(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/"


def test_login_page_is_branded(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b"<title>Log in | admin2</title>" in response.content


def test_anonymous_user_is_sent_to_login(client):
    response = client.get("/admin/auth/user/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_superuser_manages_users_and_groups(client, superuser):
    client.force_login(superuser)
    assert client.get("/admin/").status_code == 200
    users = client.get("/admin/auth/user/")
    assert users.status_code == 200
    assert b"root@example.com" in users.content
    assert client.get("/admin/auth/group/add/").status_code == 200


def test_real_login_form_logs_in(client, superuser):
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "root", "password": "root-password-1"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/admin/"
    assert b"Log out" in response.content


def test_staff_without_permissions_cannot_list_users(client, staff_user):
    client.force_login(staff_user)
    assert client.get("/admin/auth/user/").status_code == 403


def test_each_response_carries_a_request_id(client):
    response = client.get("/healthz", headers={"X-Request-ID": "abcdef12-req"})
    assert response["X-Request-ID"] == "abcdef12-req"
    generated = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert len(generated["X-Request-ID"]) == 32


def test_user_changelist_shows_a_thousand_rows_on_one_page(client, superuser, django_user_model):
    django_user_model.objects.bulk_create(
        [django_user_model(username=f"u{i:04d}") for i in range(999)]
    )
    client.force_login(superuser)
    response = client.get("/admin/auth/user/?all=")
    assert response.status_code == 200
    assert response.content.count(b'class="action-select"') == 1000
