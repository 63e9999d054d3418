"""The eventlet worker sweeps a lost worker's unacknowledged tasks back to their queues.

Kombu's synchronous loop (eventlet) sweeps only when a broker poll comes back empty, which
may never happen under load; docs/containers.md ("Found by running") tells the story.
"""

from __future__ import annotations

import logging

from celery.signals import worker_ready

from admin2_tasks import green

log = logging.getLogger(__name__)

BATCH = 100  # tasks returned per sweep at most; the next sweep takes the rest


def sweep_once(app) -> None:
    """Return every unacknowledged task older than the visibility timeout to its queue."""
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        restore = getattr(getattr(channel, "qos", None), "restore_visible", None)
        if restore is not None:  # the Redis transport; others redeliver by themselves
            restore(num=BATCH, interval=1)


def interval_seconds(app) -> float:
    options = app.conf.broker_transport_options or {}
    return float(options.get("unacked_restore_interval") or 10)


@worker_ready.connect
def start_sweeping(sender=None, **_kwargs) -> None:
    """A green thread runs kombu's own sweep (``restore_visible``, under its mutex) every
    ``unacked_restore_interval`` seconds: a tenth of the visibility timeout, 1 to 60 s. A
    failed sweep is logged and tried again at the next interval."""
    if not green.patched() or sender is None:
        return
    import eventlet

    app = sender.app
    every = interval_seconds(app)

    def loop() -> None:
        while True:
            eventlet.sleep(every)
            try:
                sweep_once(app)
            except Exception:  # the broker may be away; the next sweep tries again
                log.warning("unacknowledged-task sweep failed", exc_info=True)

    eventlet.spawn_n(loop)
    log.info("sweeping unacknowledged tasks back to their queues every %.0f s", every)
