"""`plantops users …` and `plantops audit export`: accounts and the audit trail."""

from __future__ import annotations

import argparse
import getpass
import sys
import time

from rich.console import Console
from rich.table import Table

from app.commands.startup import open_services
from app.records.users import Role, UserError
from app.services import Services

console = Console(stderr=True)


def run(args: argparse.Namespace) -> int:
    """`plantops users` / `audit`: started without importing the search stack."""
    services = open_services()
    return cmd_users(services, args) if args.command == "users" else cmd_audit(services, args)


def _read_password(args: argparse.Namespace) -> str:
    """From stdin with --password-stdin (scripts), else typed twice without echo."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"Password for {args.name}: ")
    if getpass.getpass("Again: ") != first:
        raise UserError("the two passwords differ; nothing changed")
    return first


def cmd_users(services: Services, args: argparse.Namespace) -> int:
    users = services.users
    match args.users_command:
        case "add":
            user = users.add(args.name, Role(args.role), _read_password(args))
            console.print(f"added {user.name} ({user.role})")
        case "passwd":
            users.set_password(args.name, _read_password(args))
            console.print(f"password of {args.name} changed")
        case "remove":
            users.remove(args.name)
            console.print(f"removed {args.name}: their open sessions lose access at once")
        case "list":
            table = Table("user", "role", "added (UTC)")
            for user, created in users.list():
                table.add_row(user.name, user.role,
                              time.strftime("%Y-%m-%d %H:%M", time.gmtime(created)))
            Console().print(table)
    return 0


def cmd_audit(services: Services, args: argparse.Namespace) -> int:
    if args.out:
        with args.out.open("w", newline="", encoding="utf-8") as out:
            rows = services.audit.export_csv(out)
        console.print(f"wrote {rows} audit entries to {args.out}")
    else:
        services.audit.export_csv(sys.stdout)
    return 0
