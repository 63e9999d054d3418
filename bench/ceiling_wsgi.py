"""The ceiling for the web benchmark: a WSGI app that does nothing, under the same Gunicorn."""


def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
    return [b"ok\n"]
