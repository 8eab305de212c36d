"""`helpline kb ...`: the knowledge base: import, index, evaluate."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated

import typer

from actions.articles import ImportSummary, import_files
from bot.cli import common
from bot.components import build_kb_from_database, kb_encoder, settings_encoder
from bot.settings import Settings
from knowledge_base.documents import ArticleError
from knowledge_base.evaluation import evaluate, read_queries
from knowledge_base.faq import read_faq_json
from knowledge_base.index import KnowledgeBaseIndex
from storage import migrate

app = typer.Typer(help="The knowledge base.", no_args_is_help=True)
ThreadsOption = Annotated[
    int,
    typer.Option(
        "--threads", help="CPU threads for the encoder (0: the default; 1 suits a busy machine)."
    ),
]


@app.command("index")
def kb_index(
    config: common.ConfigOption = common.DEFAULT_CONFIG, as_json: common.JsonOption = False
) -> None:
    """Import config.yml's article files into the database (only what changed), then chunk and
    embed the published articles (only what changed); report broken files."""
    settings = common.load(config)
    migrate.upgrade(settings.database_url)
    index, imported = _index(settings, "Indexing articles", import_sources=True)
    summary = _summary(index, imported.errors)
    index.close()
    if as_json:
        print(json.dumps(summary))
        return
    _print_errors(imported.errors)
    common.console.print(
        f"indexed {summary['articles']} published articles in {summary['chunks']} passages "
        f"({summary['encoded']} embedded, the rest unchanged)"
    )


@app.command("import")
def kb_import(
    path: Annotated[Path, typer.Argument(help="A file or a folder of articles or FAQ files.")],
    config: common.ConfigOption = common.DEFAULT_CONFIG,
    as_json: common.JsonOption = False,
) -> None:
    """Upsert article files (Markdown, HTML, text, CSV or JSON FAQ) into the database by slug:
    new articles are published, changed ones updated, unchanged ones skipped; articles edited
    in the console are kept. Broken files are reported with the reason and skipped."""
    settings = common.load(config)
    if not path.exists():
        raise common.fail(f"{path}: no such file or folder")
    migrate.upgrade(settings.database_url)
    imported = asyncio.run(_import_files(settings, path))
    index, _ = _index(settings, "Indexing articles", import_sources=False)
    summary = {**imported.as_json(), "index": _summary(index, [])}
    index.close()
    if as_json:
        print(json.dumps(summary))
        return
    _print_errors(imported.errors)
    for slug in imported.kept:
        common.console.print(f"[yellow]kept[/yellow] {slug} (edited in the console)")
    common.console.print(
        f"{len(imported.created)} created, {len(imported.updated)} updated, "
        f"{len(imported.unchanged)} unchanged; {len(index.articles)} articles published"
    )


@app.command("evaluate")
def kb_evaluate(
    kb: Annotated[Path, typer.Option("--kb", help='JSON list of {"id","title","body"}.')],
    queries: Annotated[Path, typer.Option(help='JSON list of {"query","relevant":[ids]}.')],
    threshold: Annotated[
        float | None, typer.Option(help="Answer threshold (default: config.yml's).")
    ] = None,
    threads: ThreadsOption = 0,
    config: common.ConfigOption = common.DEFAULT_CONFIG,
    as_json: common.JsonOption = False,
) -> None:
    """Build a fresh index from the articles file, run every query, print the metrics (with
    those of asking which article is meant, when config.yml sets knowledge_base.clarify_threshold).
    The index uses the encoder config.yml names as it ships: the file is not the bot's own."""
    settings = common.load(config)
    try:
        articles, labelled = read_faq_json(kb), read_queries(queries)
    except ArticleError as exc:
        raise common.fail(str(exc)) from exc
    encoder = settings_encoder(settings, threads)
    with common.progress_bar("Indexing articles") as progress:
        index = KnowledgeBaseIndex(articles, encoder, settings.knowledge_base.chunk_words, progress)
    kb_settings = settings.knowledge_base
    chosen = kb_settings.answer_threshold if threshold is None else threshold
    clarify_at = kb_settings.clarify_threshold
    if clarify_at is not None and clarify_at >= chosen:
        clarify_at = None  # no band between the two: the bot would never ask
    result = {**evaluate(index, labelled, chosen, clarify_at=clarify_at), "threshold": chosen}
    print(json.dumps(result, indent=None if as_json else 2))


def _index(
    settings: Settings, label: str, *, import_sources: bool
) -> tuple[KnowledgeBaseIndex, ImportSummary]:
    encoder = kb_encoder(settings)  # the served one's: `serve` finds the vectors cached
    with common.progress_bar(label) as progress:
        return build_kb_from_database(settings, encoder, progress, import_sources=import_sources)


async def _import_files(settings: Settings, path: Path) -> ImportSummary:
    async with common.database(settings) as db, db.session() as session, session.begin():
        return await import_files(session, [path], settings.language)


def _summary(index: KnowledgeBaseIndex, errors: list[str]) -> dict[str, object]:
    return {
        "articles": len(index.articles),
        "chunks": len(index.chunks),
        "encoded": index.encoded,
        "errors": errors,
    }


def _print_errors(errors: list[str]) -> None:
    for error in errors:
        common.console.print(f"[yellow]skipped[/yellow] {error}", highlight=False)
