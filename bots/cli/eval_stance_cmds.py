"""`concord eval stance`: stance classifiers and chat models (base and fine-tuned) on the same held-out labels."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import typer

from bots.cli.context import get_context, print_json

__all__ = ["stance_eval"]

_BUILTIN = ("trained", "prototype", "llm")  # `--model all`


def stance_eval(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", help="Directory holding votes.jsonl (vote reasons are labels)"),
    model: str = typer.Option(
        "trained", "--model",
        help="trained (committed MiniLM+LR head), prototype (nearest-prototype baseline), llm (configured chat model), all, "
        "or the NAME of a model from `concord finetune train` (scored with its base and the trained classifier)",
    ),
    labels: Path | None = typer.Option(None, "--labels", help="Hand-labelled posts (default evals/data/stance_labels.jsonl)"),
    out: Path = typer.Option(Path("evals/results"), "--out", help="Directory for stance_<model>.json"),
    retrain: bool = typer.Option(False, "--retrain", help="Retrain the committed head on the training split first"),
    limit: int | None = typer.Option(None, "--limit", help="Evaluate on the first N held-out texts only (for slow LLMs)"),
    as_json: bool = typer.Option(False, "--json", help="Print the result object as JSON"),
) -> None:
    """Evaluate stance classifiers on held-out labels (groups = proposals/threads never seen in training):
    macro-F1, per-class P/R/F1, confusion matrix, next to the majority-class baseline.

    Example: concord eval stance --data ../shared/data --model all
    Example: concord eval stance --data ../shared/data --model concord-stance   (tuned vs base vs trained)
    """
    from agent.stance.dataset import load_post_labels, load_vote_reasons, split_heldout
    from agent.stance.trained import make_embedder
    from agent.stance.training import train_and_save
    from evals.stance import evaluate_classifier

    cli = get_context(ctx)
    names = list(_BUILTIN) if model == "all" else [model]
    items = load_vote_reasons(data / "votes.jsonl") + load_post_labels(labels)
    train, test = split_heldout(items)
    if limit is not None:
        test = test[:limit]
    evaluators = _evaluators(cli, names, train, test)
    embedder = make_embedder()
    if retrain:
        path, manifest = train_and_save(train, embedder, data_note=f"{data}/votes.jsonl reasons + {labels or 'evals/data/stance_labels.jsonl'}")
        cli.err_console.print(f"trained {manifest['name']} on {manifest['n_train']} texts -> {path}")
    results: dict[str, object] = {}
    for name, open_classifier in evaluators.items():
        with open_classifier(embedder) as (classifier, n_train), cli.err_console.status(f"{name}: classifying {len(test)} held-out texts ..."):
            report = evaluate_classifier(classifier, train, test)
        results[name] = {"model_id": classifier.model_id, "n_train": n_train, "n_heldout": len(test), **report}
        cli.write_json(out / f"stance_{name}.json", results[name])
    if as_json:
        print_json(results)
        return
    _print_table(cli, results, len(train), len(test))


Opener = Callable[[Any], AbstractContextManager[tuple[Any, int]]]


def _evaluators(cli: Any, names: list[str], train: list[Any], test: list[Any]) -> dict[str, Opener]:
    """For each model to score, keyed by the name its results are written under: a context manager giving
    (classifier, number of training texts), holding a server only while it is scored. A tuned model's name brings
    its base model and the trained classifier along, so one run shows all three on the same held-out texts."""
    from agent.finetune.heldout import check_not_trained_on, embedded_chat_stance
    from agent.finetune.registry import get_model, list_models
    from agent.stance.trained import EmbeddingStanceClassifier, PrototypeHead, load_trained_stance
    from ingest.core.errors import InputError, NotFoundError

    @contextmanager
    def trained(embedder: Any) -> Iterator[tuple[Any, int]]:
        yield load_trained_stance(embedder=embedder), len(train)

    @contextmanager
    def prototype(embedder: Any) -> Iterator[tuple[Any, int]]:
        head = PrototypeHead().fit(embedder.embed_batch([x.text for x in train]), [x.label for x in train])
        yield EmbeddingStanceClassifier(embedder, head, model_id="minilm-prototype"), len(train)

    @contextmanager
    def llm(embedder: Any) -> Iterator[tuple[Any, int]]:
        from agent.llm.factory import open_chat_backend
        from agent.stance_llm import LLMStanceClassifier

        with open_chat_backend(cli.settings.llm) as backend:
            yield LLMStanceClassifier(backend), 0

    def chat(tuned_name: str, *, tuned: bool) -> Opener:
        @contextmanager
        def open_chat(embedder: Any) -> Iterator[tuple[Any, int]]:
            with embedded_chat_stance(cli.settings, tuned_name if tuned else None, threads=cli.settings.llm.threads) as stance:
                yield stance, (sum(get_model(cli.settings, tuned_name).counts.get("train", {}).get("stance", {}).values()) if tuned else 0)

        return open_chat

    builtin: dict[str, Opener] = {"trained": trained, "prototype": prototype, "llm": llm}
    out: dict[str, Opener] = {}
    for name in names:
        if name in builtin:
            out[name] = builtin[name]
            continue
        try:
            get_model(cli.settings, name)
        except (NotFoundError, InputError) as exc:
            tuned = ", ".join(m.name for m in list_models(cli.settings)) or "none yet"
            raise InputError(f"Unknown --model {name!r}: choose trained, prototype, llm, all, or a tuned model (known: {tuned}).") from exc
        check_not_trained_on(cli.settings, name, [x.text for x in test])
        out[f"{name}-base"] = chat(name, tuned=False)
        out[name] = chat(name, tuned=True)
        out.setdefault("trained", trained)
    return out


def _print_table(cli: Any, results: dict[str, Any], n_train: int, n_test: int) -> None:
    from rich.table import Table

    table = Table(title=f"Stance on held-out labels (train {n_train}, held-out {n_test})")
    for col in ("model", "subset", "n", "macro-F1", "majority macro-F1", "accuracy", "F1 for/against/neutral/off-topic"):
        table.add_column(col)
    for name, result in results.items():
        for subset, block in result.items():
            if not isinstance(block, dict) or "model" not in block:
                continue
            m, b = block["model"], block["majority_baseline"]
            f1s = "/".join(f"{m['per_class'][c]['f1']:.2f}" if c in m["per_class"] else "–" for c in ("for", "against", "neutral", "off-topic"))
            table.add_row(name, subset, str(m["n"]), f"{m['macro_f1']:.3f}", f"{b['macro_f1']:.3f}", f"{m['accuracy']:.3f}", f1s)
    cli.console.print(table)
