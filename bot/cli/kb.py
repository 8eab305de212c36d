"""`helpline kb ...`: the knowledge base."""

from __future__ import annotations

import json

import typer

from bot.cli import common
from bot.components import build_kb

app = typer.Typer(help="The knowledge base.", no_args_is_help=True)


@app.command("index")
def kb_index(
    config: common.ConfigOption = common.DEFAULT_CONFIG, as_json: common.JsonOption = False
) -> None:
    """Chunk and embed the knowledge base's articles; report broken files."""
    from nlu.encoder import load_encoder  # noqa: PLC0415

    settings = common.load(config)
    encoder = load_encoder(settings.nlu.encoder)
    with common.progress_bar("Indexing articles") as progress:
        index, errors = build_kb(settings, encoder, progress)
    summary = {"articles": len(index.articles), "chunks": len(index.chunks), "errors": errors}
    if as_json:
        print(json.dumps(summary))
        return
    for error in errors:
        common.console.print(f"[yellow]skipped[/yellow] {error}", highlight=False)
    common.console.print(f"indexed {summary['articles']} articles in {summary['chunks']} passages")
