"""Alerts on saved queries, evaluated by the report dispatcher: one message per change.

Each due alert is taken with ``FOR UPDATE SKIP LOCKED``, evaluated, sent and moved on before
its lock is released, so two dispatchers never send one run twice. docs/analytics.md, "Alerts".
"""

from __future__ import annotations

import datetime as dt
import logging
import operator
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from admin2_analytics import alert_messages, running
from admin2_analytics.errors import AnalyticsError
from admin2_analytics.models import Alert
from admin2_analytics.parameters import bind
from admin2_analytics.reports import owner_refusal

logger = logging.getLogger(__name__)

COMPARE = {
    Alert.Operator.GT: operator.gt,
    Alert.Operator.GE: operator.ge,
    Alert.Operator.LT: operator.lt,
    Alert.Operator.LE: operator.le,
    Alert.Operator.EQ: operator.eq,
    Alert.Operator.NE: operator.ne,
}
TRIGGERED, REMINDER, RECOVERED = "triggered", "still triggered", "recovered"


class AlertFailed(Exception):
    """The alert could not be evaluated this run; its state stays as it was."""


def dispatch_due(now: dt.datetime | None = None) -> list[str]:
    """Evaluate every due alert once (each under its own row lock); one line per alert."""
    now = now or timezone.now()
    done = []
    while True:
        with transaction.atomic():
            alert = (
                Alert.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(enabled=True, next_run__lte=now)
                .select_related("saved_query", "owner")
                .order_by("next_run", "pk")
                .first()
            )
            if alert is None:
                return done
            done.append(f"{alert.name}: {evaluate(alert, now)}")


def evaluate(alert: Alert, now: dt.datetime) -> str:
    """Run the alert's query, move its state, send what the change calls for, save."""
    alert.last_run = now
    alert.next_run = now + dt.timedelta(minutes=max(1, alert.every_minutes))
    try:
        observed = observe(alert)
    except (AlertFailed, AnalyticsError) as exc:
        alert.last_error = str(exc)
        alert.save()
        return f"failed: {exc}"
    except Exception as exc:  # noted and logged; the next alert still runs
        logger.exception("alert %s failed unexpectedly", alert.pk)
        alert.last_error = f"failed unexpectedly ({type(exc).__name__})"
        alert.save()
        return alert.last_error
    value = compared_value(alert, observed)
    holds = value is not None and COMPARE[alert.operator](value, alert.threshold)
    event = transition(alert, holds, now)
    alert.state = Alert.State.TRIGGERED if holds else Alert.State.OK
    alert.last_observed = "" if observed is None else str(observed)
    alert.last_value = "" if value is None else str(value)
    alert.last_error = ""
    outcome = alert.state
    if event and muted(alert, now):
        outcome = f"{alert.state} ({event}, muted)"
    elif event:
        alert.last_error = alert_messages.send(alert, event, value, now)
        alert.last_notified_at = now
        outcome = f"{alert.state} ({event} sent)"
    alert.save()
    return outcome


def transition(alert: Alert, holds: bool, now: dt.datetime) -> str | None:
    """The message this run calls for, if any."""
    was = alert.state == Alert.State.TRIGGERED
    if holds and not was:
        return TRIGGERED
    if was and not holds:
        return RECOVERED
    if holds and alert.remind_every_minutes:
        last = alert.last_notified_at
        if last is None or now - last >= dt.timedelta(minutes=alert.remind_every_minutes):
            return REMINDER
    return None


def muted(alert: Alert, now: dt.datetime) -> bool:
    return alert.muted_until is not None and alert.muted_until > now


def observe(alert: Alert) -> Decimal | None:
    """The number the condition looks at, run as the owner: a row count, or the column's
    value in the first row (None when there is no row or the cell is NULL)."""
    query, owner = alert.saved_query, alert.owner
    if refusal := owner_refusal(owner, query):
        raise AlertFailed(f"refused: the alert's owner {refusal}")
    params = bind(query.sql, {**query.parameter_defaults, **alert.params})
    if alert.condition == Alert.Condition.ROWS or not alert.column:
        return Decimal(_row_count(alert, params))
    result = running.run_saved(query, params, user=owner, max_rows=1, refresh=True, source="task")
    if alert.column not in result.columns:
        raise AlertFailed(
            f"the result has no column {alert.column} (columns: {', '.join(result.columns)})"
        )
    if not result.rows:
        return None
    cell = result.rows[0][result.columns.index(alert.column)]
    if cell is None:
        return None
    try:
        return Decimal(str(cell))
    except InvalidOperation:
        raise AlertFailed(f"{alert.column} is {cell!r}, not a number") from None


def _row_count(alert: Alert, params: dict) -> int:
    # The statement wrapped in a count: the guard judges the whole, nothing is held in memory.
    sql = f"SELECT count() AS row_count FROM (\n{alert.saved_query.sql}\n)"  # noqa: S608
    result = running.run_sql(
        sql, params, user=alert.owner, max_rows=1, saved_query=alert.saved_query, source="task"
    )
    return int(result.rows[0][0])


def compared_value(alert: Alert, observed: Decimal | None) -> Decimal | None:
    """What the threshold applies to: the observation, or for a change its difference from
    the last run's (none on the first run)."""
    if alert.condition != Alert.Condition.CHANGE:
        return observed
    if observed is None or not alert.last_observed:
        return None
    return observed - Decimal(alert.last_observed)


def webhook_refusal(url: str) -> str | None:
    """Why alerts may not post to ``url``, or None (see ``ANALYTICS_ALERT_WEBHOOK_HOSTS``)."""
    return alert_messages.webhook_refusal(url, settings.ANALYTICS_ALERT_WEBHOOK_HOSTS)
