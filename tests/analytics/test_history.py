"""The query history records every run, failures included, and is filterable in the admin."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from admin2_analytics import history
from admin2_analytics.models import QueryRun
from tests.support.analytics_pages import make_query, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs(superuser):
    alice = make_user("alice", "analytics.view_queryrun")
    bob = make_user("bob", "analytics.view_queryrun")
    query = make_query(superuser)
    history.record(sql="SELECT 1 AS alice_ok", source="web", user=alice, row_count=1,
                   duration_ms=12.4)  # fmt: skip
    history.record(sql="SELECT alice_failed", source="web", user=alice, error="QueryFailed: no")
    history.record(sql="SELECT 2 AS bob_saved", source="task", user=bob, saved_query=query,
                   params={"start": dt.date(2025, 1, 1)}, row_count=3)  # fmt: skip
    old = history.record(sql="SELECT 3 AS cli_old", source="cli")
    QueryRun.objects.filter(pk=old.pk).update(started_at=timezone.now() - dt.timedelta(days=40))
    return alice, bob, query


def _changelist(client, **params):
    return client.get(reverse("admin:analytics_queryrun_changelist"), params).content.decode()


def test_record_keeps_who_what_when_and_outcome(runs):
    _alice, bob, query = runs
    saved = QueryRun.objects.get(user=bob)
    assert (saved.source, saved.saved_query, saved.row_count) == ("task", query, 3)
    assert saved.params == {"start": "2025-01-01"}  # typed values kept as text
    assert QueryRun.objects.get(sql="SELECT 1 AS alice_ok").duration_ms == 12
    assert QueryRun.objects.get(sql="SELECT alice_failed").failed


def test_superusers_see_every_run(client, superuser, runs):
    client.force_login(superuser)
    everything = _changelist(client)
    assert all(f"AS {n}" in everything for n in ("alice_ok", "bob_saved", "cli_old"))


def _past_week() -> dict[str, str]:
    """The "Past 7 days" link of the date filter."""
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    return {"started_at__gte": str(midnight - dt.timedelta(days=7))}


@pytest.mark.parametrize(
    ("lookups", "shown", "hidden"),
    [
        (lambda bob, query: {"outcome": "error"}, "alice_failed", "alice_ok"),
        (lambda bob, query: {"outcome": "ok"}, "alice_ok", "alice_failed"),
        (lambda bob, query: {"user__id__exact": bob.pk}, "bob_saved", "alice_ok"),
        (lambda bob, query: {"saved_query__id__exact": query.pk}, "bob_saved", "alice_ok"),
        (lambda bob, query: {"source": "cli"}, "cli_old", "alice_ok"),
        (lambda bob, query: _past_week(), "alice_ok", "cli_old"),
    ],
    ids=["failed", "succeeded", "user", "saved-query", "source", "past-7-days"],
)
def test_superusers_filter_the_history(client, superuser, runs, lookups, shown, hidden):
    _alice, bob, query = runs
    client.force_login(superuser)

    page = _changelist(client, **lookups(bob, query))

    assert shown in page and hidden not in page


def test_staff_see_only_their_own_runs(client, runs):
    alice, _bob, _query = runs
    client.force_login(alice)
    page = _changelist(client)
    assert "alice_ok" in page and "alice_failed" in page
    assert "bob_saved" not in page and "cli_old" not in page


def test_the_history_is_read_only(client, superuser, runs):
    client.force_login(superuser)
    run = QueryRun.objects.first()
    assert client.get(reverse("admin:analytics_queryrun_add")).status_code == 403
    page = client.get(reverse("admin:analytics_queryrun_change", args=[run.pk])).content.decode()
    assert 'name="_save"' not in page


def test_the_console_and_pages_write_history_even_for_refusals(client, analytics_engine):
    user = make_user("analyst", "analytics.run_adhoc_sql")
    client.force_login(user)
    client.post(reverse("analytics:console"), {"sql": "SELECT count() FROM events"})
    client.post(reverse("analytics:console"), {"sql": "SELECT * FROM events WHERE nope = 1"})
    outcomes = list(QueryRun.objects.order_by("pk").values_list("row_count", "error"))
    assert outcomes[0] == (1, "")
    assert outcomes[1][0] is None and outcomes[1][1].startswith("QueryFailed")


@pytest.mark.django_db
def test_text_with_nul_is_kept_and_leaves_the_transaction_usable(django_user_model):
    from django.db import transaction

    with transaction.atomic():
        run = history.record(
            sql="SELECT '\x00'", source="web", params={"p\x00": "a\x00b"}, error="bad \x00"
        )
        assert run is not None
        assert django_user_model.objects.count() == 0  # the transaction still answers
    run.refresh_from_db()
    assert run.sql == "SELECT '\ufffd'"
    assert run.params == {"p\ufffd": "a\ufffdb"}
    assert run.error == "bad \ufffd"
