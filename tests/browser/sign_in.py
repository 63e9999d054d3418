"""Signing in through the real login form, as a person does; each test then checks where it
landed."""

from __future__ import annotations

from playwright.sync_api import Page


def sign_in(page: Page, url: str, username: str, password: str) -> None:
    """Open ``url`` (the login page, or a page that sends there) and submit the form."""
    page.goto(url)
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#login-form input[type=submit]")
