"""A realistic sample support mailbox with planted truth, for the demo and detection tests.

``generate`` writes an mbox and a truth JSON; ``conversations`` returns the
same data structured, and ``frames`` turns it into the frames detection reads,
so tests need no parser or store.
"""

from outreach.sample.frames import frames_from_conversations
from outreach.sample.generator import (
    SAMPLE_AS_OF,
    SAMPLE_INCIDENT,
    SAMPLE_TEAM,
    SITUATIONS,
    Conversation,
    SampleMailbox,
    SampleMessage,
    conversations,
    generate,
    sample_settings,
)

__all__ = [
    "SAMPLE_AS_OF",
    "SAMPLE_INCIDENT",
    "SAMPLE_TEAM",
    "SITUATIONS",
    "Conversation",
    "SampleMailbox",
    "SampleMessage",
    "conversations",
    "frames_from_conversations",
    "generate",
    "sample_settings",
]
