"""Reports at scale: one whole report built end to end on real discussions of growing size, timed by stage.

The discussion is a window of the bundled Aave Community Discord #governance export (3,611 real messages,
2019-08 … 2023-07): the ``n`` messages posted up to the end of the vote on a real Aave governance v2 proposal
(``aave-v2-104`` "Llama <> Aave", created 2022-10-05; 3,239 messages precede it). Its title, author and creation
time are the proposal's own (``../shared/data/proposals.jsonl``, from bhemen/dao-governance); its body is read
from there when that file is present, else the report runs on the title alone. Nothing is synthesised.

The report is the one ``concord report`` builds on the embedded default: the committed stance classifier and
unit-type classifier on Concord's MiniLM encoder (ONNX Runtime) behind a cold vector cache, camps, cruxes,
requested changes, faithfulness checks, the template digest (the embedded chat model words nothing, so it is
never called and not started here). Stages are timed by wrapping the builder's own functions for the run;
each stage's time excludes the stages inside it.

Run: ``python -m evals.bench_report_scale [--sizes 50,500,2000]``. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["PROPOSAL", "measure_report_scale", "window_inputs"]

SHARED_PROPOSALS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "proposals.jsonl"

# The proposal the windows lead up to (fields as in ../shared/data/proposals.jsonl, row "aave-v2-104").
PROPOSAL = {
    "id": "aave-v2-104", "title": "Llama <> Aave", "author": "0xd2362DbB5Aa708Bc454Ce5C3F11050C016764fA6",
    "created": "2022-10-05T14:49:23", "link": "https://app.aave.com/governance/proposal/104",
    "discussion_url": "https://governance.aave.com/t/updated-proposal-llama-aave/9924",
}  # fmt: skip
VOTING_DAYS = 3  # Aave governance v2's voting period is about three days after creation


def _proposal_body(path: Path = SHARED_PROPOSALS) -> str:
    """The proposal's AIP text from the shared data set, or "" when it is not on this machine."""
    if not path.is_file():
        return ""
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if f'"{PROPOSAL["id"]}"' in line:
                row = json.loads(line)
                if row.get("id") == PROPOSAL["id"]:
                    return str(row.get("short_description") or row.get("body") or "")
    return ""


def _timed(name: str, fn: Callable[..., Any], clock: dict[str, float], stack: list[float]) -> Callable[..., Any]:
    """``fn`` that adds its own seconds (less those of timed calls inside it) to ``clock[name]``."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        stack.append(0.0)
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent = time.perf_counter() - started
            inner = stack.pop()
            clock[name] = clock.get(name, 0.0) + spent - inner
            if stack:
                stack[-1] += spent

    return wrapper


# (module, function name, stage): the builder's steps, as it calls them.
STAGES = [
    ("agent.report.builder", "find_proposer_side", "speakers (proposer side)"),
    ("agent.report.builder", "instruction_like", "guard (instruction-like text)"),
    ("agent.report.builder", "split_units", "argument units"),
    ("agent.report.builder", "read_room", "room: people, requested changes, questions, cruxes"),
    ("agent.report.room", "_split_by_reasons", "camps (k-means per stance)"),
    ("agent.report.room", "keyphrases", "camp reasons (c-TF-IDF)"),
    ("agent.report.builder", "check_citations", "faithfulness"),
    ("agent.report.builder", "template_digest", "digest"),
    ("agent.report.builder", "changes_since", "history (changes since)"),
]


@contextmanager
def _stage_clock(builder: Any) -> Iterator[dict[str, float]]:
    import importlib

    clock: dict[str, float] = {}
    stack: list[float] = []
    patched: list[tuple[Any, str, Any]] = []
    try:
        for module_name, attr, stage in STAGES:
            module = importlib.import_module(module_name)
            patched.append((module, attr, getattr(module, attr)))
            setattr(module, attr, _timed(stage, getattr(module, attr), clock, stack))
        embedder, stance, units = builder.embedder, builder.stance, builder.units
        for obj, attr, stage in ((embedder, "embed_batch", "embedding (MiniLM)"), (stance, "classify", "stance (posts)"),
                                 (units, "classify", "unit types")):
            if obj is not None:
                patched.append((obj, attr, None))
                setattr(obj, attr, _timed(stage, getattr(obj, attr), clock, stack))
        yield clock
    finally:
        for obj, attr, original in reversed(patched):
            if original is None:
                delattr(obj, attr)  # the instance attribute goes; the class's method shows again
            else:
                setattr(obj, attr, original)


def _discussion_store(path: Path) -> Any:
    """A new SQLite store holding the bundled Aave Discord export and the proposal."""
    from ingest.core.domain import Proposal
    from ingest.core.store import Store
    from ingest.pipeline import run_ingestion
    from ingest.sources.discord_export import DiscordExportSource
    from ingest.sources.recordings import SAMPLE_DIR

    store = Store.open(f"sqlite:///{path.as_posix()}")
    dao = store.ensure_dao("aave", "Aave", forum_url="https://governance.aave.com", chain_id=1)
    run_ingestion(store, dao, DiscordExportSource.from_file(SAMPLE_DIR / "discord-aave.json.gz"))
    created = datetime.fromisoformat(PROPOSAL["created"]).replace(tzinfo=UTC)
    with store.session() as session:
        session.add(Proposal(
            dao_id=dao.id, origin="aave-governance-v2", external_id=PROPOSAL["id"], title=PROPOSAL["title"],
            body=_proposal_body(), author=PROPOSAL["author"], choices=["Against", "For"], created_at=created, start=created,
            end=created + timedelta(days=VOTING_DAYS), url=PROPOSAL["link"], discussion_url=PROPOSAL["discussion_url"],
        ))  # fmt: skip
    return store


def window_inputs(store: Any, size: int) -> Any:
    """The report's inputs: the proposal and the last ``size`` channel messages posted before its vote ended."""
    from sqlmodel import col, select

    from agent.report.inputs import ReportInputs
    from ingest.core.domain import Author, Post, Proposal, Thread

    with store.session() as session:
        proposal = session.exec(select(Proposal).where(Proposal.external_id == PROPOSAL["id"])).one()
        end = proposal.end
        posts = list(session.exec(
            select(Post).where(col(Post.deleted).is_(False), col(Post.created_at) <= end).order_by(col(Post.created_at).desc(), col(Post.id).desc())
        ).all())  # fmt: skip
        posts = sorted([p for p in posts if p.text.strip()][:size], key=lambda p: p.id or 0)
        threads = list(session.exec(select(Thread).where(col(Thread.id).in_({p.thread_id for p in posts}))).all())
        author_ids = {p.author_id for p in posts if p.author_id is not None}
        authors = {int(a.id): a for a in session.exec(select(Author).where(col(Author.id).in_(author_ids))).all()}  # type: ignore[arg-type]
    return ReportInputs(proposal=proposal, dao_slug="aave", threads=threads, posts=posts, authors=authors, voting_power={})


class _UnusedChat:
    """The embedded default's place in the builder: it words nothing (template digest), so it is never asked."""

    model = "smollm2-135m-instruct (embedded; not called)"

    def identity(self) -> dict[str, Any]:
        return {"backend": "embedded", "model": self.model}

    def complete(self, *_args: Any, **_kwargs: Any) -> str:
        raise AssertionError("the embedded default is never asked to word a report")

    complete_json = complete


def measure_report_scale(sizes: list[int], workdir: Path) -> list[dict[str, Any]]:
    """For each size: posts read, units, seconds end to end and by stage, on a cold vector cache."""
    from agent.report import ReportBuilder
    from agent.stance.trained import load_trained_stance
    from embeddings import build_embedder
    from embeddings.cache import CachedEmbedder, VectorCache
    from ingest.core.settings import load_settings

    workdir.mkdir(parents=True, exist_ok=True)
    store = _discussion_store(workdir / "discussion.db")
    settings = load_settings(data_dir=workdir / "data")
    encoder = build_embedder(settings.embeddings, cache_dir=settings.embeddings.export_cache_dir())
    encoder.embed_batch(["the encoder loads its model before the clock starts"])
    out = []
    try:
        for size in sizes:
            embedder = CachedEmbedder(encoder, VectorCache(workdir / f"vectors-{size}.sqlite"))  # a cold vector cache per size
            builder = ReportBuilder(store, embedder=embedder, chat=_UnusedChat(), stance=load_trained_stance(embedder=embedder))  # type: ignore[arg-type]
            builder.units  # noqa: B018 - load the unit-type classifier before the clock
            inputs = window_inputs(store, size)
            with _stage_clock(builder) as clock:
                started, cpu = time.perf_counter(), time.process_time()
                report = builder.build_from(inputs)
                total, cpu = time.perf_counter() - started, time.process_time() - cpu
            stages = {k: round(v, 3) for k, v in sorted(clock.items(), key=lambda kv: -kv[1])}
            stages["other (builder's own code)"] = round(total - sum(clock.values()), 3)
            out.append({"posts": report.data_window.posts, "units": len(report.units), "camps": len(report.camps),
                        "report_s": total, "cpu_s": cpu, "load": os.getloadavg()[0], "stages": stages, "body": bool(inputs.proposal.body)})
    finally:
        store.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,500,2000")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory(prefix="concord-report-scale-") as tmp:
        rows = measure_report_scale([int(s) for s in args.sizes.split(",")], Path(tmp))
    print(f"load average {os.getloadavg()[0]:.1f}")
    for row in rows:
        print(f"{row['posts']:>5} posts {row['units']:>5} units {row['report_s']:7.2f} s ({row['cpu_s']:.2f} s CPU)  camps {row['camps']}")
        for stage, seconds in row["stages"].items():
            print(f"      {seconds:8.3f} s  {stage}")


if __name__ == "__main__":
    main()
