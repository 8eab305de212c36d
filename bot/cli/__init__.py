"""The `helpline` command line: serve, train, knowledge base, users, tickets, NLU tools."""

from __future__ import annotations

import typer

from bot.cli import (
    actions,
    db,
    demo,
    kb,
    nlu,
    privacy,
    report,
    score,
    serve,
    simulate,
    tickets,
    users,
)

app = typer.Typer(help="helpline: customer-service automation.", no_args_is_help=True)
app.command()(serve.serve)
app.command()(nlu.train)
app.command()(report.report)
app.command()(simulate.simulate)
for name, sub in (
    ("kb", kb.app),
    ("users", users.app),
    ("tickets", tickets.app),
    ("nlu", nlu.app),
    ("db", db.app),
    ("demo", demo.app),
    ("score", score.app),
    ("actions", actions.app),
    ("privacy", privacy.app),
):
    app.add_typer(sub, name=name)
