"""Static files: Django's manifest storage, remembering the URL of each name it was asked for.

The manifest is read once when the process starts, so a name's URL stays the same until
collectstatic writes a new one; Django still computes it anew (manifest lookup, URL splitting
and joining) for each ``{% static %}`` of each page.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.staticfiles import storage


class ManifestStaticFilesStorage(storage.ManifestStaticFilesStorage):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._urls: dict[tuple, str] = {}

    def url(self, name, force=False):
        key = (name, force, settings.DEBUG)
        try:
            return self._urls[key]
        except KeyError:
            url = self._urls[key] = super().url(name, force)
            return url

    def post_process(self, *args, **kwargs):
        self._urls.clear()  # collectstatic: the manifest is being rewritten
        try:
            yield from super().post_process(*args, **kwargs)
        finally:
            self._urls.clear()
