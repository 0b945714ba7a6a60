"""Finding explicit references in text: forum topic URLs and Snapshot / Tally proposal URLs."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

__all__ = ["forum_topic_ids", "normalise_title", "proposal_refs"]

_URL = re.compile(r"https?://[^\s<>()\[\]\"'`]+", re.IGNORECASE)
_TOPIC_PATH = re.compile(r"^/t/([^/]+)(?:/(\d+))?(?:/(\d+))?/?$")
_SNAPSHOT = re.compile(r"snapshot\.(?:org|box)/#/(?:s:)?[^/\s]+/proposal/(0x[0-9a-fA-F]{64})")
_TALLY = re.compile(r"tally\.xyz/gov/[^/\s]+/proposal/(\d{3,})")
_PREFIX = re.compile(r"^\s*(\[[^\]]*\]\s*)+")


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")


def forum_topic_ids(text: str, forum_url: str) -> list[int]:
    """Topic ids of every ``<forum>/t/<slug>/<id>`` (or ``/t/<id>``) link to ``forum_url`` in ``text``, in order."""
    want = _host(forum_url)
    found: list[int] = []
    for match in _URL.finditer(text or ""):
        url = match.group(0).rstrip(".,;:!?")
        if _host(url) != want:
            continue
        topic = _topic_id(urlsplit(url).path)
        if topic is not None and topic not in found:
            found.append(topic)
    return found


def _topic_id(path: str) -> int | None:
    """``/t/<id>``, ``/t/<id>/<post>``, ``/t/<slug>/<id>``, ``/t/<slug>/<id>/<post>`` -> the topic id."""
    match = _TOPIC_PATH.match(path)
    if match is None:
        return None
    first, second, third = match.groups()
    if third is not None or (second is not None and not first.isdigit()):
        return int(second)
    return int(first) if first.isdigit() else None


def proposal_refs(text: str) -> list[str]:
    """Snapshot proposal ids (0x…) and Tally on-chain proposal ids linked in ``text``."""
    refs = [m.group(1).lower() for m in _SNAPSHOT.finditer(text or "")]
    refs += [m.group(1) for m in _TALLY.finditer(text or "")]
    return list(dict.fromkeys(refs))


def normalise_title(title: str) -> str:
    """Lower case, no ``[tags]`` prefix, no punctuation, single spaces: for exact title matching."""
    title = _PREFIX.sub("", title or "").lower()
    title = re.sub(r"[^a-z0-9]+", " ", title)
    return " ".join(title.split())
