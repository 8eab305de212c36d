"""`helpline kb ...`: the knowledge base: import, index, evaluate."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Annotated

import typer

from bot.cli import common
from bot.components import build_kb
from bot.settings import Settings
from knowledge_base.articles import article_files, load_articles
from knowledge_base.documents import ArticleError
from knowledge_base.evaluation import evaluate, read_queries
from knowledge_base.faq import read_faq_json
from knowledge_base.index import KnowledgeBaseIndex
from nlu.encoder import Encoder

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
    """Chunk and embed the knowledge base's articles (only what changed); report broken files."""
    settings = common.load(config)
    index, errors = _index(settings, _encoder(settings), "Indexing articles")
    summary = _summary(index, errors)
    if as_json:
        print(json.dumps(summary))
        return
    _print_errors(errors)
    common.console.print(
        f"indexed {summary['articles']} articles in {summary['chunks']} passages "
        f"({summary['encoded']} embedded, the rest unchanged)"
    )


@app.command("import")
def kb_import(
    path: Annotated[Path, typer.Argument(help="A file or a folder of articles or FAQ files.")],
    config: common.ConfigOption = common.DEFAULT_CONFIG,
    as_json: common.JsonOption = False,
) -> None:
    """Copy article files (Markdown, HTML, text, CSV or JSON FAQ) into the knowledge base's
    first folder (replacing files of the same name) and index them; broken files are reported
    with the reason and skipped."""
    settings = common.load(config)
    folder = _article_folder(settings)
    imported, skipped = [], []
    with common.progress_bar("Reading files") as progress:
        files = article_files([path])
        for done, file in enumerate(files, start=1):
            report = load_articles([file])
            skipped.extend(report.errors)
            if report.articles:
                imported.append({"file": str(file), "articles": len(report.articles)})
                _copy(file, folder)
            progress(done, len(files))
    index, _ = _index(settings, _encoder(settings), "Indexing articles")
    summary = {"imported": imported, "skipped": skipped, "index": _summary(index, [])}
    if as_json:
        print(json.dumps(summary))
        return
    _print_errors(skipped)
    articles = sum(int(str(item["articles"])) for item in imported)
    common.console.print(f"imported {articles} articles from {len(imported)} files into {folder}")


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
    """Build a fresh index from the articles file, run every query, print the metrics."""
    settings = common.load(config)
    try:
        articles, labelled = read_faq_json(kb), read_queries(queries)
    except ArticleError as exc:
        raise common.fail(str(exc)) from exc
    _set_threads(threads)
    encoder = _encoder(settings)
    with common.progress_bar("Indexing articles") as progress:
        index = KnowledgeBaseIndex(articles, encoder, settings.knowledge_base.chunk_words, progress)
    chosen = settings.knowledge_base.answer_threshold if threshold is None else threshold
    result = {**evaluate(index, labelled, chosen), "threshold": chosen}
    print(json.dumps(result, indent=None if as_json else 2))


def _encoder(settings: Settings) -> Encoder:
    from nlu.encoder import load_encoder  # noqa: PLC0415 (loads torch; only when needed)

    return load_encoder(settings.nlu.encoder)


def _set_threads(threads: int) -> None:
    if threads > 0:
        import torch  # noqa: PLC0415 (heavy import, only when asked)

        torch.set_num_threads(threads)


def _index(
    settings: Settings, encoder: Encoder, label: str
) -> tuple[KnowledgeBaseIndex, list[str]]:
    with common.progress_bar(label) as progress:
        return build_kb(settings, encoder, progress)


def _summary(index: KnowledgeBaseIndex, errors: list[str]) -> dict[str, object]:
    return {
        "articles": len(index.articles),
        "chunks": len(index.chunks),
        "encoded": index.encoded,
        "errors": errors,
    }


def _article_folder(settings: Settings) -> Path:
    folders = [settings.resolve(p) for p in settings.knowledge_base.sources]
    folder = next((f for f in folders if f.is_dir()), None)
    if folder is None:
        raise common.fail("knowledge_base.sources names no folder to import into")
    return folder


def _copy(file: Path, folder: Path) -> None:
    target = folder / file.name
    if target.resolve() != file.resolve():
        shutil.copyfile(file, target)


def _print_errors(errors: list[str]) -> None:
    for error in errors:
        common.console.print(f"[yellow]skipped[/yellow] {error}", highlight=False)
