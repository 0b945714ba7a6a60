"""`concord eval retrieval`: recall@k, MRR and nDCG@k of BM25, dense and hybrid retrieval on the committed
labelled queries, next to baselines measured in the same run."""

from __future__ import annotations

from pathlib import Path

import typer

from bots.cli.context import get_context, print_json

__all__ = ["retrieval_eval"]


def retrieval_eval(
    ctx: typer.Context,
    labels: Path | None = typer.Option(None, "--labels", help="Labelled queries (default evals/retrieval/labels.jsonl)"),
    k: int = typer.Option(10, "--k", help="Cut-off for recall@k and nDCG@k"),
    out: Path | None = typer.Option(Path("evals/results/retrieval.json"), "--out", help="Write the result JSON here"),
    as_json: bool = typer.Option(False, "--json", help="Print the result object as JSON"),
    min_recall: float | None = typer.Option(None, "--min-recall", help="Exit 1 when BM25, dense or hybrid recall@k (all queries) is below this"),
) -> None:
    """Retrieval quality on the bundled sample: the labelled queries (proposal titles -> the forum thread the data
    links to them; thread titles -> their posts) are ranked by BM25, dense (MiniLM + FAISS) and hybrid (RRF)
    retrieval and by two baselines (word overlap, random). Vectors are cached in the configured data dir.

    Example: concord eval retrieval --json
    """
    from embeddings import cached_embedder
    from evals.retrieval.evaluate import LABELS, recall_failures, run_retrieval_eval

    cli = get_context(ctx)
    with cli.err_console.status("retrieval evaluation ...") as status:
        result = run_retrieval_eval(embedder=cached_embedder(cli.settings), labels_path=labels or LABELS, k=k,
                                    progress=lambda m: status.update(f"retrieval evaluation: {m}"))
    if out is not None:
        cli.write_json(out, result)
    if as_json:
        print_json(result)
    else:
        from rich.table import Table

        table = Table(title=f"Retrieval on {result['corpus']['posts']} {result['corpus']['dao']} posts (bundled sample)")
        for column in ("queries", "n", "ranker", f"recall@{k}", "MRR", f"nDCG@{k}"):
            table.add_column(column, justify="left" if column in {"queries", "ranker"} else "right")
        for subset, block in result["sets"].items():
            for name, scores in block["rankers"].items():
                table.add_row(subset, str(block["n"]), name, f"{scores[f'recall@{k}']:.3f}", f"{scores['mrr']:.3f}", f"{scores[f'ndcg@{k}']:.3f}")
        cli.console.print(table)
    if min_recall is not None:
        failures = recall_failures(result, min_recall)
        for failure in failures:
            cli.err_console.print(f"below the floor: {failure}")
        if failures:
            raise typer.Exit(1)
