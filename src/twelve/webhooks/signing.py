"""The signature of a webhook's body: HMAC-SHA256 with the webhook's secret, base64, in the
``Heroku-Webhook-Hmac-SHA256`` header, so receivers written for Heroku's webhooks check it as is."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Final

HEADER: Final = "Heroku-Webhook-Hmac-SHA256"


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def verify(secret: str, body: bytes, signature: str) -> bool:
    return hmac.compare_digest(sign(secret, body), signature)
