"""`concord eval stance`: stance classifiers (and chat models) on held-out labels."""

from __future__ import annotations

from pathlib import Path

import typer

from bots.cli.context import get_context, print_json

__all__ = ["stance_eval"]


def stance_eval(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", help="Directory holding votes.jsonl (vote reasons are labels)"),
    model: str = typer.Option("trained", "--model", help="trained (committed MiniLM+LR head), prototype (nearest-prototype baseline), llm (configured chat model), or all"),
    labels: Path | None = typer.Option(None, "--labels", help="Hand-labelled posts (default evals/data/stance_labels.jsonl)"),
    out: Path = typer.Option(Path("evals/results"), "--out", help="Directory for stance_<model>.json"),
    retrain: bool = typer.Option(False, "--retrain", help="Retrain the committed head on the training split first"),
    limit: int | None = typer.Option(None, "--limit", help="Evaluate on the first N held-out texts only (for slow LLMs)"),
    as_json: bool = typer.Option(False, "--json", help="Print the result object as JSON"),
) -> None:
    """Evaluate stance classifiers on held-out labels (groups = proposals/threads never seen in training):
    macro-F1, per-class P/R/F1, confusion matrix, next to the majority-class baseline.

    Example: concord eval stance --data ../shared/data --model all
    """
    import json as _json

    from agent.stance.dataset import load_post_labels, load_vote_reasons, split_heldout
    from agent.stance.trained import (
        EmbeddingStanceClassifier,
        PrototypeHead,
        load_trained_stance,
        make_embedder,
    )
    from agent.stance.training import train_and_save
    from evals.stance import evaluate_classifier
    from ingest.errors import InputError

    cli = get_context(ctx)
    names = ["trained", "prototype", "llm"] if model == "all" else [model]
    unknown = [n for n in names if n not in {"trained", "prototype", "llm"}]
    if unknown:
        raise InputError(f"Unknown --model {unknown[0]!r}; choose trained, prototype, llm or all")
    items = load_vote_reasons(data / "votes.jsonl") + load_post_labels(labels)
    train, test = split_heldout(items)
    if limit is not None:
        test = test[:limit]
    embedder = make_embedder()
    if retrain:
        path, manifest = train_and_save(train, embedder, data_note=f"{data}/votes.jsonl reasons + {labels or 'evals/data/stance_labels.jsonl'}")
        cli.err_console.print(f"trained {manifest['name']} on {manifest['n_train']} texts -> {path}")
    results: dict[str, object] = {}
    for name in names:
        if name == "trained":
            classifier = load_trained_stance(embedder=embedder)
        elif name == "prototype":
            X = embedder.embed_batch([x.text for x in train])
            classifier = EmbeddingStanceClassifier(embedder, PrototypeHead().fit(X, [x.label for x in train]), model_id="minilm-prototype")
        else:
            from agent.llm.factory import open_chat_backend
            from agent.stance_llm import LLMStanceClassifier

            with open_chat_backend(cli.settings.llm) as backend, cli.err_console.status(f"LLM stance on {len(test)} texts ..."):
                llm = LLMStanceClassifier(backend)
                report = evaluate_classifier(llm, train, test)
            results[name] = {"model_id": llm.name, "n_train": 0, "n_heldout": len(test), **report}
            continue
        with cli.err_console.status(f"{name}: classifying {len(test)} held-out texts ..."):
            report = evaluate_classifier(classifier, train, test)
        results[name] = {"model_id": classifier.model_id, "n_train": len(train), "n_heldout": len(test), **report}
    out.mkdir(parents=True, exist_ok=True)
    for name, result in results.items():
        path = out / f"stance_{name}.json"
        path.write_text(_json.dumps(result, indent=2) + "\n", encoding="utf-8")
        cli.err_console.print(f"wrote {path}")
    if as_json:
        print_json(results)
        return
    from rich.table import Table

    table = Table(title=f"Stance on held-out labels (train {len(train)}, held-out {len(test)})")
    for col in ("model", "subset", "n", "macro-F1", "majority macro-F1", "accuracy", "F1 for/against/neutral/off-topic"):
        table.add_column(col)
    for name, result in results.items():
        for subset, block in result.items():  # type: ignore[union-attr]
            if not isinstance(block, dict) or "model" not in block:
                continue
            m, b = block["model"], block["majority_baseline"]
            f1s = "/".join(f"{m['per_class'][c]['f1']:.2f}" if c in m["per_class"] else "–" for c in ("for", "against", "neutral", "off-topic"))
            table.add_row(name, subset, str(m["n"]), f"{m['macro_f1']:.3f}", f"{b['macro_f1']:.3f}", f"{m['accuracy']:.3f}", f1s)
    cli.console.print(table)
