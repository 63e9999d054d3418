"""Users built in code with exactly the permissions a test names (no fixtures files)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission


def make_user(username: str, *permissions: str, staff: bool = True, superuser: bool = False):
    user = get_user_model().objects.create_user(
        username,
        f"{username}@example.com",
        f"{username}-password-1",
        is_staff=staff,
        is_superuser=superuser,
    )
    for dotted in permissions:
        app_label, codename = dotted.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return get_user_model().objects.get(pk=user.pk)  # fresh: no stale permission cache
