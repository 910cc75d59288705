"""Webhook signatures and formats (no services)."""

from __future__ import annotations

import base64
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tailor.collect import webhooks
from tailor.collect.intake import key_from_header, source_for


def sendgrid_keypair() -> tuple[ec.EllipticCurvePrivateKey, str]:
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, base64.b64encode(public).decode()


def sign(private: ec.EllipticCurvePrivateKey, body: bytes, timestamp: str) -> str:
    return base64.b64encode(private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()


def test_sendgrid_signature_verifies_and_rejects_tampering():
    private, public = sendgrid_keypair()
    body = b'[{"email":"a@b.co","event":"unsubscribe","timestamp":1700000000,"sg_event_id":"e1"}]'
    stamp = str(int(time.time()))
    signature = sign(private, body, stamp)
    webhooks.verify_sendgrid(public, body, signature, stamp)
    with pytest.raises(webhooks.SignatureError):
        webhooks.verify_sendgrid(public, body.replace(b"a@b", b"x@b"), signature, stamp)
    with pytest.raises(webhooks.SignatureError):
        webhooks.verify_sendgrid(public, body, signature, str(int(stamp) + 1))
    with pytest.raises(webhooks.SignatureError):
        webhooks.verify_sendgrid(public, body, "not base64!", stamp)
    with pytest.raises(webhooks.SignatureError):
        webhooks.verify_sendgrid(public, body, None, stamp)
    with pytest.raises(webhooks.NotConfigured):
        webhooks.verify_sendgrid(None, body, signature, stamp)


def test_generic_hmac_signature_and_freshness():
    body = b'{"events": []}'
    now = 1_700_000_000
    signature = webhooks.sign_generic("s3cret", body, now)
    webhooks.verify_generic("s3cret", body, signature, str(now), now=now + 10)
    with pytest.raises(webhooks.SignatureError):
        webhooks.verify_generic("other", body, signature, str(now), now=now)
    with pytest.raises(webhooks.SignatureError):
        webhooks.verify_generic("s3cret", body, signature, str(now), now=now + 3600)


def test_sendgrid_events_map_to_suppressions():
    unsub = webhooks.parse_sendgrid({"email": " A@B.co ", "event": "group_unsubscribe",
                                     "timestamp": 1700000000, "sg_event_id": "e1", "asm_group_id": 3})
    assert (unsub.email, unsub.event_type, unsub.suppression) == ("a@b.co", "unsubscribe", "unsubscribe")
    blocked = webhooks.parse_sendgrid({"email": "a@b.co", "event": "bounce", "type": "blocked",
                                       "timestamp": 1700000000, "sg_event_id": "e2"})
    assert blocked.event_type == "bounce" and blocked.suppression is None
    spam = webhooks.parse_sendgrid({"email": "a@b.co", "event": "spamreport", "timestamp": 1700000000})
    assert spam.suppression == "spam_report" and spam.event_id.startswith("h-")
    assert webhooks.parse_sendgrid({"email": "a@b.co", "event": "open", "timestamp": 1}).suppression is None
    with pytest.raises(webhooks.BadEvent):
        webhooks.parse_sendgrid({"email": "a@b.co", "event": "exploded", "timestamp": 1})
    with pytest.raises(webhooks.BadEvent):
        webhooks.parse_generic({"type": "bounce", "email": "a@b.co", "timestamp": 1})  # no id


def test_write_key_basic_auth():
    header = "Basic " + base64.b64encode(b"key-1:").decode()
    assert key_from_header(header) == "key-1"
    assert key_from_header("Bearer xyz") is None
    assert key_from_header("Basic !!!") is None
    assert source_for("key-1", {"web": "key-1", "app": "key-2"}) == "web"
    assert source_for("nope", {"web": "key-1"}) is None
