"""Reading the room: community members' stances, camps of people with shared reasons, cruxes, requested changes
(and whether the proposer side answered or adopted them), open questions and common ground. Deterministic: the
same units, vectors and labels give the same structure."""

from __future__ import annotations

import functools
import itertools
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agent.units.types import TypedUnit, UnitType

if TYPE_CHECKING:
    import numpy as np

    from agent.stance.base import StanceResult

__all__ = ["PersonView", "Room", "keyphrases", "read_room"]

STANCE_ORDER = ("for", "against", "neutral", "off-topic", "uncertain")
STANCE_NAMES = {"for": "Supports", "against": "Opposes", "neutral": "Undecided or conditional", "off-topic": "Off-topic",
                "uncertain": "Stance unclear"}
REASON_TYPES = {UnitType.SUPPORT, UnitType.OBJECTION, UnitType.CONCERN, UnitType.REQUESTED_CHANGE}
QUOTE_TYPES = {"for": (UnitType.SUPPORT,), "against": (UnitType.OBJECTION, UnitType.CONCERN),
               "neutral": (UnitType.REQUESTED_CHANGE, UnitType.CONCERN, UnitType.QUESTION)}
_ADOPT = re.compile(
    r"\bwe(’|')?(ll| will| have| 've|’ve|'ve)\s+(now\s+)?(take|taken|remove|removed|add|added|update|updated|change|changed|"
    r"include|included|amend|amended|revise|revised|adjust|adjusted|drop|dropped|incorporate|incorporated|implement|implementing)\b",
    re.IGNORECASE,
)
_NAMED = re.compile(r"(?:^|\n)\W*(?:hi|hey|hello|dear|thanks|thank you)[^\n@]{0,40}?[, ]@?([A-Za-z][\w.\-]{2,})|@([A-Za-z][\w.\-]{2,})", re.IGNORECASE)
_STOP = frozenset(
    ["the", "a", "an", "and", "or", "of", "to", "in", "on", "for", "with", "is", "are", "be", "we", "our", "this", "that", "it", "as", "at", "by", "from", "will", "would", "can", "could", "should", "have", "has", "not", "but", "if", "so", "they", "their", "them", "you", "your", "i", "my", "me", "us", "was", "were", "been", "which", "who", "what", "when", "also", "more", "than", "about", "into", "there", "here", "all", "any", "some", "just", "very", "its", "it's", "dao", "proposal", "do", "does", "did", "how", "why", "where", "there's", "i'm", "don't", "it’s", "i’m", "don’t", "these", "those", "such", "other", "being", "get", "got", "one", "two", "many", "much", "make", "made", "may", "might", "must", "well", "like", "think", "see"]
)


@dataclass
class PersonView:
    """One community member: their units, posts, stance (with the signals behind it) and voting power."""

    author: str
    units: list[int] = field(default_factory=list)  # indexes into the typed units
    posts: list[int] = field(default_factory=list)
    stance: str = "uncertain"
    signals: dict[str, int] = field(default_factory=dict)
    voting_power: float | None = None


@dataclass
class Camp:
    stance: str
    people: list[str]
    posts: int
    voting_power: float | None
    reasons: list[str]
    quotes: list[TypedUnit]
    name: str = ""


@dataclass
class Room:
    people: dict[str, PersonView]
    camps: list[Camp]
    cruxes: list[dict[str, Any]]
    requested_changes: list[dict[str, Any]]
    open_questions: list[dict[str, Any]]
    common_ground: list[dict[str, Any]]
    post_labels: dict[int, str]
    method: str


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z][a-z0-9$'’\-]{2,}", text.lower()) if w not in _STOP]


def keyphrases(docs: Sequence[Sequence[str]], *, count: int = 4) -> list[list[str]]:
    """Class-based TF-IDF (one document per camp): terms frequent in a camp and rare in the others. Uni- and bigrams
    of content words; a bigram replaces its unigrams when it scores at least as high."""
    import math

    grams: list[Counter[str]] = []
    for texts in docs:
        c: Counter[str] = Counter()
        for text in texts:
            words = _words(text)
            c.update(words)
            c.update(f"{a} {b}" for a, b in itertools.pairwise(words))
        grams.append(c)
    total = Counter()
    for c in grams:
        total.update(c)
    average = sum(sum(c.values()) for c in grams) / max(1, len(grams))
    out = []
    for c in grams:
        size = sum(c.values()) or 1
        scored = sorted(((c[t] / size) * math.log(1 + average / total[t]), t) for t in c if c[t] >= (2 if " " in t else 1))
        chosen: list[str] = []
        for score, term in sorted(scored, key=lambda s: (-s[0], s[1])):
            if any(term in other or other in term for other in chosen):
                continue
            chosen.append(term)
            if len(chosen) >= count:
                break
        out.append(chosen)
    return out


def _person_stance(person: PersonView, typed: Sequence[TypedUnit], post_results: Mapping[int, StanceResult], threshold: float) -> None:
    votes: Counter[str] = Counter()
    confident_other = 0
    off_topic = 0
    for pid in person.posts:
        result = post_results.get(pid)
        if result is None or result.confidence < threshold:
            continue
        label = result.label.value
        if label in ("for", "against"):
            votes[label] += 1
        elif label == "off-topic":
            off_topic += 1
        else:
            confident_other += 1
    for i in person.units:
        u = typed[i]
        if u.confidence < threshold:
            continue
        if u.type == UnitType.SUPPORT:
            votes["for"] += 1
        elif u.type == UnitType.OBJECTION:
            votes["against"] += 1
        else:
            confident_other += 1
    person.signals = {"for": votes["for"], "against": votes["against"], "other": confident_other, "off_topic_posts": off_topic}
    if votes["for"] > votes["against"]:
        person.stance = "for"
    elif votes["against"] > votes["for"]:
        person.stance = "against"
    elif votes["for"] or confident_other:
        person.stance = "neutral"
    elif off_topic:
        person.stance = "off-topic"
    else:
        person.stance = "uncertain"


def _norm_rows(m: np.ndarray) -> np.ndarray:
    import numpy as np

    n = np.linalg.norm(m, axis=1, keepdims=True)
    return m / np.where(n == 0, 1.0, n)


def _split_by_reasons(names: list[str], people: Mapping[str, PersonView], vectors: np.ndarray) -> list[list[str]]:
    """Two groups of one stance when their members' mean unit vectors separate clearly (k-means, k=2, cosine
    silhouette >= 0.1, at least two people each); otherwise one group."""
    import numpy as np

    usable = [n for n in names if people[n].units]
    if len(usable) < 4:
        return [names]
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    X = _norm_rows(np.stack([vectors[people[n].units].mean(axis=0) for n in usable]))
    with threadpool_limits(1):  # a few hundred people: OpenMP threads only spin (and on a busy machine, wait)
        labels = KMeans(n_clusters=2, n_init=4, random_state=0).fit_predict(X)
    if min(Counter(labels).values()) < 2 or float(silhouette_score(X, labels, metric="cosine")) < 0.1:
        return [names]
    groups = [[n for n, lab in zip(usable, labels, strict=True) if lab == k] for k in (0, 1)]
    groups[0] += [n for n in names if n not in usable]
    return sorted(groups, key=lambda g: (-len(g), g))


def _close_pairs(V: np.ndarray, rows: list[int], cols: list[int], floor: float) -> list[tuple[int, int]]:
    """The (row, col) unit pairs whose cosine may reach ``floor``, found with one matrix product instead of a Python
    loop over every pair (which made the room quadratic in Python calls); callers re-score each pair exactly as
    before, so only pairs far below ``floor`` are skipped (the product's rounding is allowed a 1e-6 margin)."""
    import numpy as np

    if not rows or not cols:
        return []
    sims = V[rows] @ V[cols].T
    r, c = np.nonzero(sims >= floor - 1e-6)
    return [(rows[i], cols[j]) for i, j in zip(r.tolist(), c.tolist(), strict=True)]


@functools.lru_cache(maxsize=4096)
def _greeted(text: str) -> tuple[str, ...]:
    """The names a post greets or @-mentions, lower case (read once per post, not once per question it may answer)."""
    return tuple((m.group(1) or m.group(2) or "").lower().rstrip(".,!") for m in _NAMED.finditer(text))


def _addressed(text: str, author: str) -> bool:
    key = author.lower().lstrip("@")
    for name in _greeted(text):
        if name and (name == key or (len(name) >= 4 and (key.startswith(name) or name.startswith(key)))):
            return True
    return False


def _names_in(text: str, community: Sequence[str]) -> list[str]:
    found = []
    for match in _NAMED.finditer(text):
        name = (match.group(1) or match.group(2) or "").rstrip(".,!")
        person = next((c for c in community if c.lower() == name.lower() or (len(name) >= 4 and c.lower().startswith(name.lower()))), None)
        if person and person not in found:
            found.append(person)
    return found


def read_room(
    typed: Sequence[TypedUnit], vectors: np.ndarray | None, *, post_authors: Mapping[int, str], post_numbers: Mapping[int, int],
    post_texts: Mapping[int, str], proposer: set[str], post_results: Mapping[int, StanceResult] | None = None,
    voting_power: Mapping[str, float] | None = None, threshold: float = 0.5, quotes_per_camp: int = 3,
    set_aside: set[int] | frozenset[int] = frozenset(),
) -> Room:
    """The structure of the discussion among community members; proposer-side and instruction-like units are never
    used as a reason, quote, crux, common ground or camp member; posts in ``set_aside`` (instruction-like as a
    whole) are not read at all (``post_numbers`` orders replies)."""
    import numpy as np

    post_results = post_results or {}
    voting_power = voting_power or {}
    if vectors is None or len(typed) == 0:
        vectors = np.zeros((len(typed), 1))
    V = _norm_rows(np.asarray(vectors, dtype=float))
    people: dict[str, PersonView] = {}
    excluded_posts = set(set_aside) | {u.post_id for u in typed if u.instruction_like}
    for pid, author in sorted(post_authors.items()):
        if author in proposer or pid in excluded_posts:
            continue
        people.setdefault(author, PersonView(author=author)).posts.append(pid)
    for i, u in enumerate(typed):
        if not u.proposer and not u.instruction_like and u.author in people and u.post_id in people[u.author].posts:
            people[u.author].units.append(i)
    for person in people.values():
        _person_stance(person, typed, post_results, threshold)
        person.voting_power = voting_power.get(person.author)

    # camps: one stance each, split by shared reasons where the members separate clearly
    camps: list[Camp] = []
    for stance in STANCE_ORDER:
        names = sorted(n for n, p in people.items() if p.stance == stance)
        if not names:
            continue
        for group in _split_by_reasons(names, people, V):
            power = [people[n].voting_power for n in group if people[n].voting_power is not None]
            camps.append(Camp(stance=stance, people=group, posts=sum(len(people[n].posts) for n in group),
                              voting_power=float(sum(power)) if power else None, reasons=[], quotes=[]))
    reason_docs = []
    for camp in camps:
        units = [typed[i] for n in camp.people for i in people[n].units]
        reasons = [u.text for u in units if u.type in REASON_TYPES] or [u.text for u in units]
        reason_docs.append(reasons)
    for camp, phrases in zip(camps, keyphrases(reason_docs), strict=True):
        camp.reasons = phrases
        camp.name = STANCE_NAMES[camp.stance] + (": " + ", ".join(phrases[:3]) if phrases else "")
        wanted = QUOTE_TYPES.get(camp.stance, ())
        candidates = sorted(
            (i for n in camp.people for i in people[n].units),
            key=lambda i: (typed[i].type not in wanted, typed[i].type == UnitType.INFORMATION, -typed[i].confidence, i),
        )
        seen: set[str] = set()
        for i in candidates:
            if typed[i].author not in seen:
                camp.quotes.append(typed[i])
                seen.add(typed[i].author)
            if len(camp.quotes) >= quotes_per_camp:
                break

    community_idx = [i for n in people for i in people[n].units]
    proposer_idx = [i for i, u in enumerate(typed) if u.proposer and not u.instruction_like]

    def later(i: int, j: int) -> bool:
        a, b = typed[i], typed[j]
        na, nb = post_numbers.get(a.post_id), post_numbers.get(b.post_id)
        return (nb > na) if na is not None and nb is not None else b.post_id > a.post_id

    def answer_to(i: int) -> tuple[int | None, bool]:
        """The proposer side's best later reply to unit ``i`` and whether it adopts a change."""
        asker = typed[i].author
        replies = [j for j in proposer_idx if later(i, j)]
        addressed = [j for j in replies if _addressed(post_texts.get(typed[j].post_id, ""), asker)]
        similar = sorted((j for _, j in _close_pairs(V, [i], replies, 0.5) if float(V[i] @ V[j]) >= 0.5), key=lambda j: -float(V[i] @ V[j]))
        pool = addressed + [j for j in similar if j not in addressed]
        if not pool:
            return None, False
        adopting = [j for j in pool if _ADOPT.search(typed[j].text)]
        best = adopting[0] if adopting else (similar[0] if similar else pool[0])
        return best, bool(adopting)

    requested: list[dict[str, Any]] = []
    used_answers: set[int] = set()
    for i in sorted((i for i in community_idx if typed[i].type == UnitType.REQUESTED_CHANGE and typed[i].confidence >= 0.34), key=lambda i: i):
        if any(r["request"] is not None and r["asked_by"] == [typed[i].author] and float(V[i] @ V[r["request"]]) >= 0.8 for r in requested):
            continue
        j, adopted = answer_to(i)
        if j is not None:
            used_answers.add(j)
        requested.append({"request": i, "asked_by": [typed[i].author], "answer": j,
                          "status": "adopted" if adopted else ("answered" if j is not None else "open"), "note": ""})
    community_names = sorted(people)
    for j in proposer_idx:
        if j in used_answers or not _ADOPT.search(typed[j].text):
            continue
        same = next((r for r in requested if r["request"] is None and r["answer"] is not None and float(V[j] @ V[r["answer"]]) >= 0.6), None)
        names = _names_in(post_texts.get(typed[j].post_id, ""), community_names)
        if same is not None:
            same["asked_by"] += [n for n in names if n not in same["asked_by"]]
            if len(typed[j].text) > len(typed[same["answer"]].text):
                same["answer"] = j
            continue
        requested.append({"request": None, "asked_by": names, "answer": j, "status": "adopted",
                          "note": "change stated by the proposer side in reply to feedback; the request itself is not among the stored posts"})

    questions = []
    for i in (i for i in community_idx if typed[i].type == UnitType.QUESTION and typed[i].confidence >= 0.34):
        j, _ = answer_to(i)
        if j is None:
            questions.append({"question": i, "asked_by": typed[i].author})

    # cruxes and common ground: pairs of units from people of opposing stances
    stance_of = {n: p.stance for n, p in people.items()}
    pro = [i for i in community_idx if stance_of[typed[i].author] == "for" and typed[i].type in REASON_TYPES]
    con = [i for i in community_idx if stance_of[typed[i].author] == "against" and typed[i].type in REASON_TYPES]
    pairs = sorted(((float(V[a] @ V[b]), a, b) for a, b in _close_pairs(V, pro, con, 0.45)), key=lambda t: (-t[0], t[1], t[2]))
    cruxes, common, used = [], [], set()
    for sim, a, b in pairs:
        if len(common) >= 3 and len(cruxes) >= 3:
            break  # both lists are full: no later pair can change them
        if sim < 0.45 or a in used or b in used:
            continue
        ua, ub = typed[a], typed[b]
        theirs = set(_words(ub.text))
        shared = [w for w in dict.fromkeys(_words(ua.text)) if w in theirs][:4]
        same_kind = ua.type == ub.type or {ua.type, ub.type} <= {UnitType.CONCERN, UnitType.REQUESTED_CHANGE}
        if same_kind and len(common) < 3:
            common.append({"stances": ["for", "against"], "units": [a, b]})
        elif not same_kind and len(cruxes) < 3:
            cruxes.append({"topic": shared or keyphrases([[ua.text, ub.text]], count=3)[0], "for": a, "against": b})
        else:
            continue
        used.update((a, b))
    post_labels = {}
    for pid in post_authors:
        if pid in excluded_posts:
            continue
        result = post_results.get(pid)
        post_labels[pid] = "uncertain" if result is None or result.confidence < threshold else result.label.value
    method = ("people grouped by stance (trained post stance + unit types, confidence >= "
              f"{threshold}), split by shared reasons (k-means over each person's mean MiniLM unit vector, k=2 only "
              "when the cosine silhouette is >= 0.1); reasons are c-TF-IDF keyphrases against the other camps")
    return Room(people=people, camps=camps, cruxes=cruxes, requested_changes=requested, open_questions=questions,
                common_ground=common, post_labels=post_labels, method=method)
