"""Build the faithfulness labelled set from real posts of the bundled sample (Arbitrum forum, Aave Discord):
``evals/data/faithfulness_posts.jsonl`` (the cited posts, verbatim, with their source ids) and
``evals/data/faithfulness_labels.jsonl`` (one quote per row, its case type, and whether it is supported).

Quotes are made from the posts by the deterministic rules in :mod:`evals.faithfulness.cases` (posts chosen in
SHA-256 order of their source ids, variants seeded the same way): same sample, same files. Every label is
sanity-checked against a reference test independent of the checker under evaluation
(:func:`~evals.faithfulness.cases.lenient_occurs`): a ``supported`` quote must pass it, an ``unsupported`` one
must fail it, else the row is not written.

Rows with ``path: "citation"`` are checked as a report's camp quotes are (``check_citations``); rows with
``path: "summary"`` embed the quote in a generated sentence, checked as summaries and answers are
(``strip_unsupported_quotes``), in three styles: curly quotes, straight quotes, and straight quotes after a
short quoted term.

Run: ``python -m evals.faithfulness.build_labels`` (ingests the bundled sample into a temporary SQLite file).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import tempfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from evals.faithfulness import cases as C
from ingest.core.domain import Dao, Post, Source, Thread
from ingest.core.store import Store

__all__ = ["DATA_DIR", "SamplePost", "build", "load_sample_posts"]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
PER_TYPE = 40
SUMMARY_PER_TYPE = 10


@dataclass(frozen=True)
class SamplePost:
    key: str  # "<source kind>:<external id>"
    source: str
    external_id: str
    thread: str
    url: str | None
    text: str

    @property
    def order(self) -> str:
        return hashlib.sha256(self.key.encode()).hexdigest()


def load_sample_posts(store: Store) -> list[SamplePost]:
    """Every non-empty post of the store with its source kind and thread, in SHA-256 order of its key."""
    with store.session() as session:
        rows = session.exec(
            select(Source.kind, Post.external_id, Thread.external_id, Post.url, Post.text, Post.number, Post.id)
            .join(Source, col(Source.id) == Post.source_id).join(Thread, col(Thread.id) == Post.thread_id)
            .join(Dao, col(Dao.id) == Source.dao_id).where(col(Post.deleted).is_(False))
        ).all()
    posts = [SamplePost(f"{kind}:{ext}", str(kind), str(ext), f"{kind}:{thread}", url, text)
             for kind, ext, thread, url, text, _n, _i in rows if text and text.strip()]
    return sorted(posts, key=lambda p: p.order)


class _Builder:
    def __init__(self, posts: list[SamplePost]) -> None:
        self.posts = posts
        self.by_thread: dict[str, list[SamplePost]] = defaultdict(list)
        for p in sorted(posts, key=lambda p: (p.thread, len(p.external_id), p.external_id)):
            self.by_thread[p.thread].append(p)
        self.used: dict[str, SamplePost] = {}
        self.rows: list[dict[str, Any]] = []
        self.count: dict[str, int] = defaultdict(int)
        self.rejected: dict[str, int] = defaultdict(int)

    def add(self, case: str, quote: str | None, cited: SamplePost | None, *, source: SamplePost | None = None,
            missing: bool = False) -> bool:
        """Record one citation case after the reference sanity check; False when it was not added."""
        if quote is None or self.count[case] >= PER_TYPE:
            return False
        expected = C.EXPECTED[case]
        if cited is not None and case not in {"empty", "missing_post"}:
            ok = C.lenient_occurs(quote, cited.text)
            if ok != (expected == "supported"):
                self.rejected[case] += 1
                return False
        for p in (cited, source):
            if p is not None:
                self.used[p.key] = p
        self.count[case] += 1
        self.rows.append({
            "path": "citation", "case": case, "expected": expected, "quote": quote,
            "cited": "missing:" + cited.key if missing and cited else cited.key if cited else None,
            "quote_from": source.key if source else (cited.key if cited and expected == "supported" else None),
        })
        return True

    def neighbour(self, post: SamplePost, sentence: str) -> SamplePost | None:
        """Another post of the same thread (nearest after it, wrapping) whose text lacks ``sentence``."""
        thread = self.by_thread[post.thread]
        at = thread.index(post)
        for other in thread[at + 1 :] + thread[:at]:
            if other is not post and sentence not in other.text and C.sentences(other.text):
                return other
        return None


def _base_posts(posts: list[SamplePost]) -> list[SamplePost]:
    forum = [p for p in posts if p.source == "discourse" and 200 <= len(p.text) <= 3000 and len(C.sentences(p.text)) >= 3]
    chat = [p for p in posts if p.source == "discord" and 150 <= len(p.text) <= 1500 and len(C.sentences(p.text)) >= 2]
    return forum[:28] + chat[:12]


def build(posts: list[SamplePost]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(post rows, label rows) for the posts of the sample, ``posts`` in SHA-256 key order."""
    b = _Builder(posts)
    base = _base_posts(posts)
    for post in base:
        sents = C.sentences(post.text)
        rng = C.rng_for(post.key)
        first = sents[rng.randrange(len(sents))]
        b.add("verbatim_sentence", first, post)
        piece = C.span(first, C.rng_for(post.key, "span")) or first
        b.add("verbatim_span", piece, post)
        b.add("missing_post", first, post, missing=True)
        other = b.neighbour(post, first)
        if other is not None:
            b.add("wrong_post", C.sentences(other.text)[0], post, source=other)
        vocabulary = re.findall(r"[a-z]+", post.text.lower())
        b.add("word_changed", C.word_changed(piece, vocabulary, C.rng_for(post.key, "word")), post)
        negatable = next((s for s in sents if C.negate(s)), None)
        b.add("negated", C.negate(negatable) if negatable else None, post)
        b.add("word_dropped", C.word_dropped(piece, C.rng_for(post.key, "drop")), post)
        para = next((s for s in sents if C.paraphrase(s)), None)
        b.add("paraphrase", C.paraphrase(para) if para else None, post)
        if len(sents) >= 3:
            b.add("spliced", C.spliced(sents[0], sents[2], C.rng_for(post.key, "splice")), post)
    b.add("empty", "", base[0])
    b.add("empty", "   \n\t ", base[1])
    b.add("empty", "\u00a0", base[2])
    for post in posts:  # the special cases need posts that offer them: first ones in key order
        rng = C.rng_for(post.key, "special")
        sents = C.sentences(post.text, min_words=5)
        b.add("whitespace", C.whitespace_variant(post.text, rng), post)
        b.add("typography", next((v for s in sents if (v := C.typography_variant(s))), None), post)
        accented = re.search(r"[À-ÖØ-öø-ž]", post.text) is not None
        if accented or b.count["unicode_form"] < PER_TYPE // 2:  # no-break-space variants fill at most half
            b.add("unicode_form", C.unicode_variant(post.text, rng), post)
        b.add("markup", C.markup_variant(post.text, rng), post)
        b.add("partial_word", C.partial_word(post.text, rng), post)
    long_posts = [p for p in posts if 1500 <= len(p.text) <= 20000 and p.source == "discourse"][:15]
    for post in long_posts:
        b.add("whole_post", post.text, post)
        other = b.neighbour(post, post.text[:50]) or base[0]
        b.add("overrun", post.text + " " + C.sentences(other.text)[0], post, source=other)
    labels = _number(b.rows) + _summary_rows(b)
    used = sorted(b.used.values(), key=lambda p: (p.source, len(p.external_id), p.external_id))
    ids = {p.key: i for i, p in enumerate(used, start=1)}
    post_rows = [{"id": ids[p.key], "key": p.key, "source": p.source, "external_id": p.external_id, "url": p.url,
                  "text": p.text} for p in used]
    return post_rows, labels


def _number(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"id": f"c{i:04d}", **r} for i, r in enumerate(rows, start=1)]


_SHORT = r"(?<![\w'’])[a-z]{5,7}(?![\w'’])"
_STYLES = {
    "curly": "Members wrote “{q}” in the discussion.",
    "straight": 'Members wrote "{q}" in the discussion.',
    "after_short_quote": 'On "{s}", members wrote "{q}" in the discussion.',
}


def _summary_rows(b: _Builder) -> list[dict[str, Any]]:
    """Quotes embedded in generated sentences, for the summary path."""
    rows: list[dict[str, Any]] = []
    taken: dict[str, int] = defaultdict(int)
    for row in b.rows:
        case = row["case"]
        if case not in {"verbatim_span", "typography", "unicode_form", "word_changed", "negated", "paraphrase", "partial_word"}:
            continue
        if taken[case] >= SUMMARY_PER_TYPE or '"' in row["quote"] or "“" in row["quote"] or "”" in row["quote"]:
            continue
        taken[case] += 1
        cited = b.used[row["cited"]]
        short = next((w for w in re.findall(r"\b[A-Za-z]{4,7}\b", cited.text)), "DAO")
        for style, template in _STYLES.items():
            rows.append({"path": "summary", "case": f"{case}", "style": style, "expected": row["expected"],
                         "quote": row["quote"], "summary": template.format(q=row["quote"], s=short), "cited": row["cited"]})
    # short quoted words: one from the cited post (supported), one from another post that the cited lacks
    short_taken = 0
    for post in _base_posts(b.posts):
        words = re.findall(_SHORT, post.text)
        other = b.neighbour(post, post.text[:40])
        if not words or other is None or short_taken >= SUMMARY_PER_TYPE:
            continue
        foreign = next((w for w in re.findall(_SHORT, other.text) if not C.lenient_occurs(w, post.text)), None)
        if foreign is None:
            continue
        short_taken += 1
        b.used[post.key] = post
        rows.append({"path": "summary", "case": "short_verbatim", "style": "straight", "expected": "supported",
                     "quote": words[0], "summary": f'Members called it "{words[0]}".', "cited": post.key})
        rows.append({"path": "summary", "case": "short_fabricated", "style": "straight", "expected": "unsupported",
                     "quote": foreign, "summary": f'Members called it "{foreign}".', "cited": post.key})
    return [{"id": f"s{i:04d}", **r} for i, r in enumerate(rows, start=1)]


def main() -> None:
    from evals.retrieval.corpus import sample_store

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=DATA_DIR)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="concord-faith-") as tmp:
        store = sample_store(Path(tmp) / "sample.db", daos=("arbitrum", "aave"))
        posts = load_sample_posts(store)
        store.close()
    post_rows, labels = build(posts)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, rows in (("faithfulness_posts.jsonl", post_rows), ("faithfulness_labels.jsonl", labels)):
        (args.out_dir / name).write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    counts: dict[str, int] = defaultdict(int)
    for r in labels:
        counts[f"{r['path']}/{r['case']}"] += 1
    print(f"{len(post_rows)} posts, {len(labels)} labelled quotes -> {args.out_dir}")
    for key, n in sorted(counts.items()):
        print(f"  {key:32s} {n}")


if __name__ == "__main__":
    main()
