"""Fuzz fixtures: a test client that returns server errors instead of raising them."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.fuzz import tally


@pytest.fixture
def anonymous():
    # A 500 must come back as a response to be counted, not as an exception in the test.
    return Client(raise_request_exception=False)


@pytest.fixture
def admin_client_500(superuser):
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    return client


def pytest_terminal_summary(terminalreporter):
    lines = tally.summary_lines()
    if lines:
        terminalreporter.section("fuzz: inputs tried and server errors seen")
        for line in lines:
            terminalreporter.write_line(line)
