"""The analytics pages, mounted under the admin URL by the core (``analytics/``)."""
