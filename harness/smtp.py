"""A local SMTP sink on 127.0.0.1 (aiosmtpd) that keeps every message it receives."""

from __future__ import annotations

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message

from harness.processes import free_port


class Inbox(Message):
    def __init__(self):
        super().__init__()
        self.messages = []

    def handle_message(self, message):
        self.messages.append(message)


def start_sink() -> tuple[Controller, Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller, inbox
