"""`python -m bot` runs the helpline command line."""

from bot.cli import app

app(prog_name="helpline")
