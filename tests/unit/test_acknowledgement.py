"""A reply that only acknowledges the customer, versus one that answers, fixes, asks or promises."""

from __future__ import annotations

import pytest

from outreach.acknowledgement import acknowledgement_only
from outreach.settings import DetectionSettings

PHRASES = DetectionSettings().acknowledgement_phrases


@pytest.mark.parametrize(
    ("reply", "quoted"),
    [
        ("Thank you for writing to us. We have read your message.", "Thank you for writing to us."),
        ("Hi Ann,\n\nThanks for reaching out, and sorry for the trouble.\nWe've passed your feedback on.\n\n"
         "Best,\nPriya", "Thanks for reaching out, and sorry for the trouble."),
        ("Hello Ann, we appreciate you taking the time to tell us.\n\nKind regards\nThe Northwind team",
         "we appreciate you taking the time to tell us."),
        ("Vielen Dank für Ihre Nachricht. Es tut uns leid.\n\nViele Grüße\nJonas", "Vielen Dank für Ihre Nachricht."),
        # the signature under the sign-off (title, phone number) says nothing to the customer
        ("Thank you for contacting us. We have passed your message on to the team.\n\nKind regards,\n"
         "Priya Patel\nSupport Lead, Northwind\n+1 555 0100", "Thank you for contacting us."),
        ("Hello Lucas,\n\nThanks for reaching out.\n\nTomás", "Thanks for reaching out."),
    ],
)
def test_a_reply_made_only_of_acknowledgements_is_quoted(reply: str, quoted: str) -> None:
    assert acknowledgement_only(reply, PHRASES) == quoted


@pytest.mark.parametrize(
    "reply",
    [
        # an explanation or a step
        "Thanks for your message. The date format follows your profile's locale.",
        "Thank you for writing. You can extend the range under Settings → Calendar.",
        # a fix, even a terse one
        "Thanks for the details.\n\nIt's fixed now.\n\nBest,\nPriya",
        "Done.",
        "Thanks for your message.\nRefund issued\n\nBest,\nPriya",
        "Thanks for your patience: I've refunded the charge.",
        "Thanks for reaching out\nI've refunded you.",
        # a question: the customer owes us the next step
        "Thanks for getting in touch. Which app version do you see?",
        "Thanks for your message. Let me know your order number and I'll check.",
        # a promise
        "Thanks for your patience. We're looking into it.",
        # nothing said at all
        "",
        "Best,\nPriya",
    ],
)
def test_a_reply_that_says_anything_more_is_not_an_acknowledgement(reply: str) -> None:
    assert acknowledgement_only(reply, PHRASES) is None


def test_no_phrases_configured_means_no_reply_counts_as_an_acknowledgement() -> None:
    assert acknowledgement_only("Thank you for writing to us.", []) is None
