"""What happened to one demo enterprise over the last two years, as plain data.

A story is a pure function of the seed, the enterprise's demo index, today and what the database
offers it (its scene's checklists, the inspectors of its district, the officials and its business
account, all passed in as ``Subject`` and ``City``): nothing in this package reads or writes the
database; demo.past gathers the inputs and writes the stories. ``model`` has the words of a story,
``teller`` the moves that keep the platform's rules, ``chapters`` tells the story in order. Each
enterprise has its own generator, ``random.Random(f"{seed}:{index}")``, so the same seed tells the
same story of an enterprise however many others are seeded with it, and growing the demo adds
stories without changing any.

Every story keeps the platform's rules (what supervision.inspections.services and the other
services would have let happen): a visit answers every item of its department's checklist; a
finding is a non-compliant answer; a rectify conclusion issues an order due after the days the
worst finding allows (settings.RECTIFY_DAYS); an order is answered, returned, accepted, re-inspected
or escalated only in an order those services allow, and only an overdue order is escalated.
Every moment lies before ``end_of_past`` (21:00 yesterday), so what is past is past at any hour of
today; deadlines never fall on today, so an order is overdue, or not, all day long.

How a business behaves is its *conduct* (``CONDUCTS``): it sets how often it is visited, how often
items fail, how its orders end, how many complaints it draws and how often it checks itself. A
revoked licence comes with a dishonesty listing, a suspended one with a recent penalty, a
deregistered business stops having a past when it closed. The first few demo indices go round the
conducts and each show one way an order goes, so even a small demo has every kind of past.
"""

import random

from demo.stories.chapters import tell
from demo.stories.model import (
    CONDUCTS,
    HISTORY_DAYS,
    LEGACY_DAYS,
    ChecklistVersion,
    City,
    Item,
    Story,
    Subject,
    Visit,
    at_minute,
)
from demo.stories.teller import Teller

__all__ = [
    "CONDUCTS",
    "HISTORY_DAYS",
    "LEGACY_DAYS",
    "ChecklistVersion",
    "City",
    "Item",
    "Story",
    "Subject",
    "Visit",
    "at_minute",
    "story_of",
]


def story_of(subject: Subject, *, city: City, seed: int) -> Story:
    """The story of one enterprise; the same inputs give the same story."""
    return tell(Teller(subject, city, random.Random(f"{seed}:{subject.index}")))
