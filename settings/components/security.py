"""Security: password rules, login lockout, two-factor login, CSP and browser policies.

Production tightens transport security further (see environments/production.py).
"""

from datetime import timedelta

from csp.constants import NONE, SELF

from settings.env import env_bool, env_int

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# TOTP devices under a human name on the admin index (django_otp.plugins.otp_totp otherwise).
INSTALLED_APPS += ["axes", "django_otp", "admin2.apps.TwoFactorConfig"]  # noqa: F821

# Axes must see every authentication attempt first, to refuse locked-out ones.
AUTHENTICATION_BACKENDS = [
    "admin2.auth_backends.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
MIDDLEWARE.insert(  # noqa: F821
    MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,  # noqa: F821
    "django_otp.middleware.OTPMiddleware",
)
MIDDLEWARE.insert(1, "csp.middleware.CSPMiddleware")  # noqa: F821
MIDDLEWARE.insert(2, "admin2.middleware.BrowserPolicyMiddleware")  # noqa: F821
MIDDLEWARE.append("axes.middleware.AxesMiddleware")  # noqa: F821

# Login lockout: N failures for one username from one address lock that pair for a while.
AXES_FAILURE_LIMIT = env_int("ADMIN2_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("ADMIN2_LOGIN_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin2/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "admin2.client_ip.client_ip"
AXES_VERBOSE = False
# Nginx sets X-Real-IP; Gunicorn is reachable only from Nginx, so the header can be trusted.
ADMIN2_TRUST_X_REAL_IP = env_bool("ADMIN2_TRUST_X_REAL_IP", False)

# Two-factor login: staff with a confirmed TOTP device must give a code; with
# ADMIN2_OTP_REQUIRED every staff login needs one (enrol devices in the admin first).
ADMIN2_OTP_REQUIRED = env_bool("ADMIN2_OTP_REQUIRED", False)
OTP_TOTP_ISSUER = "admin2"

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Django's database sessions, except that a key no server could have issued is no session.
SESSION_ENGINE = "admin2.sessions"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("ADMIN2_SESSION_HOURS", 12, minimum=1) * 3600
CSRF_COOKIE_SAMESITE = "Lax"

# Scripts only from our own origin (charts are drawn by our own static JS, never a CDN).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        # The stock admin templates carry style="" attributes.
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()"
)

# Behind the TLS-terminating Nginx: trust its X-Forwarded-Proto only when told to.
BEHIND_TLS_PROXY = env_bool("DJANGO_BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
