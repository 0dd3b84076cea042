"""`plantops users …`, `plantops collections …`, `plantops audit export` and `plantops
handover`: accounts, who may read which documents, the audit trail and a shift's digest of it."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time

from rich.console import Console
from rich.table import Table

from app.commands.startup import open_services
from app.records.audit import AuditEntry
from app.records.collections import CollectionError
from app.records.handover import handover, parse_time
from app.records.users import Role, UserError
from app.services import Services

console = Console(stderr=True)


def run(args: argparse.Namespace) -> int:
    """`plantops users` / `audit`: started without importing the search stack."""
    services = open_services()
    command = {"users": cmd_users, "collections": cmd_collections, "audit": cmd_audit,
               "handover": cmd_handover}
    return command[args.command](services, args)


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


def cmd_collections(services: Services, args: argparse.Namespace) -> int:
    collections = services.collections
    if args.collections_command == "list":
        assigned = collections.assignments()
        table = Table("collection", "readers", "files")
        for name in sorted({*collections.readers, *assigned.values()}):
            readers = collections.readers.get(name)
            who = (", ".join([*sorted(readers.roles), *sorted(readers.groups)]) or "admins only"
                   if readers else "admins only (not defined in the settings)")
            files = sorted(f for f, c in assigned.items() if c == name)
            table.add_row(name, who, "\n".join(files) or "-")
        Console().print(table)
        return 0
    name = args.name if args.collections_command == "set" else None
    known = {e.file for e in services.manifest.entries()}
    if unknown := [f for f in args.files if f not in known]:
        raise CollectionError(f"not in the index: {', '.join(unknown)}; `plantops index stats` "
                              "and the Documents tab list the document names")
    changed = collections.assign(args.files, name, by="cli")
    services.audit.record(AuditEntry(user="cli", role="admin", action="collection",
                                     question=f"{', '.join(args.files)} -> {name or 'none'}",
                                     status=f"{changed} changed"))
    console.print(f"{changed} file(s) now in {name or 'no collection'}"
                  + ("" if changed == len(args.files) else " (the others were already)"))
    return 0


def cmd_audit(services: Services, args: argparse.Namespace) -> int:
    if args.out:
        with args.out.open("w", newline="", encoding="utf-8") as out:
            rows = services.audit.export_csv(out)
        console.print(f"wrote {rows} audit entries to {args.out}")
    else:
        services.audit.export_csv(sys.stdout)
    return 0


def cmd_handover(services: Services, args: argparse.Namespace) -> int:
    """0: written (also when nothing was asked: it says so)."""
    end = parse_time(args.end) if args.end else time.time()
    start = parse_time(args.start) if args.start else end - 8 * 3600
    shift = handover(services.audit, start, end, services.records.snapshot().assets,
                     services.work_order_store, services.incidents,
                     [a for a in args.assets.split(",") if a.strip()])
    text = (json.dumps(shift.to_json(), indent=2, ensure_ascii=False) + "\n" if args.json
            else shift.to_markdown())
    if args.out:
        try:
            args.out.write_text(text, encoding="utf-8")
        except OSError as exc:
            console.print(f"cannot write {args.out}: {exc.strerror}. Give a file in a folder "
                          "that exists and you may write to (or leave out --out).")
            return 1
        console.print(f"{len(shift.asked)} questions from {shift.start_utc} to "
                      f"{shift.end_utc} (UTC) written to {args.out}")
    else:
        sys.stdout.write(text)
    return 0
