"""Which module does each `plantops` subcommand; argument parsing lives in
app.commands.cli, accounts (no services needed) in app.commands.accounts."""

from __future__ import annotations

import argparse

from app.commands.answers import cmd_ask, cmd_eval
from app.commands.ingest import cmd_index, cmd_ingest
from app.commands.ops import cmd_bundle, cmd_doctor
from app.commands.serve import cmd_models, cmd_serve, cmd_ui, cmd_up
from app.commands.startup import open_services


def run(args: argparse.Namespace) -> int:
    services = open_services()
    settings = services.settings
    match args.command:
        case "ingest":
            return cmd_ingest(services, args)
        case "index":
            return cmd_index(services, args)
        case "models":
            return cmd_models(services)
        case "serve":
            return cmd_serve(settings, args)
        case "ask":
            return cmd_ask(services, args.question)
        case "eval":
            return cmd_eval(services, args)
        case "plan":
            from app.commands.plan import cmd_plan

            return cmd_plan(settings, args)
        case "history":
            from app.commands.history import cmd_history

            return cmd_history(services, args)
        case "doctor":
            return cmd_doctor(services)
        case "ui":
            return cmd_ui(services)
        case "bundle":
            return cmd_bundle(settings, args)
        case "up":
            return cmd_up(services)
    raise ValueError(f"unknown command {args.command}")
