"""Email backend for the integration tests: one file per message in $TEST_EMAIL_DIR, so the
test can count what a worker subprocess sent. With $TEST_EMAIL_DELAY it first writes a
"sending-…" marker and sleeps, which gives the test a moment to kill the worker mid-send
(before the message is out, as when an SMTP connection is cut)."""

import json
import os
import time
import uuid

from django.core.mail.backends.base import BaseEmailBackend


class EmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        folder = os.environ["TEST_EMAIL_DIR"]
        delay = float(os.environ.get("TEST_EMAIL_DELAY", "0") or 0)
        for message in email_messages:
            token = uuid.uuid4().hex
            if delay:
                open(os.path.join(folder, f"sending-{token}"), "w").close()
                time.sleep(delay)
            with open(os.path.join(folder, f"{token}.json.tmp"), "w", encoding="utf-8") as out:
                json.dump({"to": message.to, "subject": message.subject, "body": message.body}, out, ensure_ascii=False)
            os.replace(os.path.join(folder, f"{token}.json.tmp"), os.path.join(folder, f"{token}.json"))
        return len(email_messages)
