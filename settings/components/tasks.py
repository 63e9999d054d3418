"""Celery tasks plugin, composed in unless ADMIN2_TASKS_ENABLED=false, and its CELERY_* settings.

Staging and production must name their Redis broker (a missing one stops start-up);
development uses kombu's filesystem transport under VAR_DIR, tests the memory transport.
Nothing runs tasks eagerly (inline), anywhere.
"""

from settings.env import EnvError, env_bool, env_float, env_int, env_url

ADMIN2_TASKS_ENABLED = env_bool("ADMIN2_TASKS_ENABLED", True)

if ADMIN2_TASKS_ENABLED:
    INSTALLED_APPS += ["admin2_tasks"]  # noqa: F821

    _REDIS = ("redis", "rediss")
    ADMIN2_TASKS_DIR = VAR_DIR / "celery"  # noqa: F821  (embedded broker, results, beat files)
    ADMIN2_TASKS_EMBEDDED_BROKER_DIR = ADMIN2_TASKS_DIR / "broker"

    if ENVIRONMENT in ("staging", "production"):  # noqa: F821
        CELERY_BROKER_URL = env_url("CELERY_BROKER_URL", schemes=_REDIS)
        CELERY_RESULT_BACKEND = env_url("CELERY_RESULT_BACKEND", schemes=_REDIS)
    elif ENVIRONMENT == "test":  # noqa: F821
        CELERY_BROKER_URL = env_url("CELERY_BROKER_URL", "memory://", schemes=(*_REDIS, "memory"))
        CELERY_RESULT_BACKEND = env_url(
            "CELERY_RESULT_BACKEND", "cache+memory://", schemes=(*_REDIS, "cache+memory")
        )
    else:
        CELERY_BROKER_URL = env_url(
            "CELERY_BROKER_URL", "filesystem://localhost/", schemes=(*_REDIS, "filesystem")
        )
        CELERY_RESULT_BACKEND = env_url(
            "CELERY_RESULT_BACKEND",
            f"file://{ADMIN2_TASKS_DIR / 'results'}",
            schemes=(*_REDIS, "file"),
        )
    # Redis's password (REDIS_PASSWORD, components/cache.py) for a broker or result backend
    # URL that carries none. Beside the URL, not inside it: Celery takes CELERY_BROKER_URL and
    # CELERY_RESULT_BACKEND from the environment ahead of these settings (celery.app.utils).
    if REDIS_PASSWORD:  # noqa: F821
        CELERY_BROKER_PASSWORD = REDIS_PASSWORD  # noqa: F821
        CELERY_REDIS_PASSWORD = REDIS_PASSWORD  # noqa: F821

    # A task may run this long before SoftTimeLimitExceeded is raised in it, then the hard
    # limit ends it. The eventlet pool ignores Celery's limits; admin2_tasks.green_limits
    # enforces them there.
    CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 900, minimum=1)
    CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 960, minimum=1)
    # Redis hands an unacknowledged message to another worker after this many seconds: it
    # must outlast the longest task (and any retry countdown), or a slow task runs twice.
    _VISIBILITY_TIMEOUT = env_int("CELERY_VISIBILITY_TIMEOUT", 1800, minimum=1)
    if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
        raise EnvError(
            "CELERY_TASK_SOFT_TIME_LIMIT: must be below CELERY_TASK_TIME_LIMIT "
            f"({CELERY_TASK_SOFT_TIME_LIMIT} >= {CELERY_TASK_TIME_LIMIT})"
        )
    if _VISIBILITY_TIMEOUT <= CELERY_TASK_TIME_LIMIT:
        raise EnvError(
            "CELERY_VISIBILITY_TIMEOUT: must exceed CELERY_TASK_TIME_LIMIT "
            f"({_VISIBILITY_TIMEOUT} <= {CELERY_TASK_TIME_LIMIT}), or a running task is "
            "handed to a second worker"
        )

    # How long a web request waits for the broker before telling the user it is down.
    CELERY_BROKER_CONNECTION_TIMEOUT = env_float(
        "CELERY_BROKER_CONNECTION_TIMEOUT", 2.0, minimum=0.1
    )
    # A worker or beat started before Redis keeps trying (Compose also orders them).
    CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

    if CELERY_BROKER_URL.startswith("filesystem:"):
        CELERY_BROKER_TRANSPORT_OPTIONS = {
            "data_folder_in": str(ADMIN2_TASKS_EMBEDDED_BROKER_DIR / "queue"),
            "data_folder_out": str(ADMIN2_TASKS_EMBEDDED_BROKER_DIR / "queue"),
            "control_folder": str(ADMIN2_TASKS_EMBEDDED_BROKER_DIR / "control"),
            "polling_interval": 0.5,
        }
    elif CELERY_BROKER_URL.startswith("redis"):
        CELERY_BROKER_TRANSPORT_OPTIONS = {
            "visibility_timeout": _VISIBILITY_TIMEOUT,
            "socket_connect_timeout": CELERY_BROKER_CONNECTION_TIMEOUT,
            # Longer than the 1 s BRPOP poll; bounds a publish to a half-open connection.
            "socket_timeout": 10,
            # Look for messages of dead workers often enough to honour short timeouts too.
            "unacked_restore_interval": max(1, min(60, _VISIBILITY_TIMEOUT // 10)),
            "unacked_restore_throttle": 1,
        }
    else:
        CELERY_BROKER_TRANSPORT_OPTIONS = {}
    CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = CELERY_BROKER_CONNECTION_TIMEOUT
    CELERY_REDIS_SOCKET_TIMEOUT = 10
    CELERY_RESULT_EXPIRES = 86_400
    # A task's outcome is its TaskRun row and nothing reads Celery's results: storing one
    # cost every task a read and a write to Redis (beat's tasks too, not only submissions).
    CELERY_TASK_IGNORE_RESULT = True

    # JSON only, everywhere Celery reads: task messages, results, remote control and events
    # (kombu refuses any other content type before decoding it), so a message planted in
    # Redis cannot run code in a worker the way a pickle would (docs/security.md).
    CELERY_TASK_SERIALIZER = "json"
    CELERY_RESULT_SERIALIZER = "json"
    CELERY_ACCEPT_CONTENT = ["json"]
    CELERY_RESULT_ACCEPT_CONTENT = ["json"]
    # Every admin2 task is idempotent (it takes ids and tolerates repeats): acknowledge after
    # the work, and put the message back when the worker dies under it.
    CELERY_TASK_ACKS_LATE = True
    CELERY_TASK_REJECT_ON_WORKER_LOST = True
    # A worker reserves only what it runs; the rest waits in Redis for any worker. The eventlet
    # worker's consumer holds one more, so a finished task's place is refilled at once.
    CELERY_WORKER_PREFETCH_MULTIPLIER = 1
    CELERY_WORKER_CONSUMER = "admin2_tasks.green_consumer:Consumer"
    CELERY_TASK_ALWAYS_EAGER = False
    CELERY_TIMEZONE = TIME_ZONE  # noqa: F821
    # Django's LOGGING (JSON lines outside development) stays in charge of the worker's logs.
    CELERY_WORKER_HIJACK_ROOT_LOGGER = False

    CELERY_BEAT_SCHEDULER = "admin2_tasks.beat:RegistryScheduler"
    CELERY_BEAT_SCHEDULE_FILENAME = str(ADMIN2_TASKS_DIR / "beat-schedule")
    # Beat wakes at least this often, and touches its heartbeat file each time.
    CELERY_BEAT_MAX_LOOP_INTERVAL = 15
    ADMIN2_TASKS_BEAT_HEARTBEAT_FILE = ADMIN2_TASKS_DIR / "beat.heartbeat"
    ADMIN2_TASKS_BEAT_MAX_AGE = env_int("ADMIN2_TASKS_BEAT_MAX_AGE", 60, minimum=5)
    # Beat sends admin2_tasks.heartbeat this often; the status page and /readyz show its age.
    ADMIN2_TASKS_HEARTBEAT_SECONDS = env_int("ADMIN2_TASKS_HEARTBEAT_SECONDS", 30, minimum=1)
    ADMIN2_TASKS_RUN_RETENTION_DAYS = env_int("ADMIN2_TASKS_RUN_RETENTION_DAYS", 30, minimum=1)
    # Remote-control calls (status page, readiness, health) wait this long for workers.
    ADMIN2_TASKS_INSPECT_TIMEOUT = env_float("ADMIN2_TASKS_INSPECT_TIMEOUT", 1.0, minimum=0.1)
