"""The admin mounted under another path, for tests of URLs remembered per URLconf."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("elsewhere/", admin.site.urls)]
