"""Work orders as records: the plant's maintenance history, counted and listed whole.

A work order is one chunk among thousands for retrieval, which shows the best five. A
history question ("what has been done on QR0218?", "how many jump starts?") needs every
matching order, so ingest also keeps each one as a row: asset ids, date, the description
as written, the same text in full words (maintenance abbreviations expanded with the
lexicon), and its action, symptom and component terms (``describe``).

The rows live in the manifest's database, keyed by file *and version* (sha256) like the
chunks: a new version's rows are written before the manifest switches to it, readers only
see rows of the live version (a join on the manifest's ``live`` table), and the sweep that
deletes old chunks deletes old rows. A run killed anywhere leaves no orphan a reader sees,
and the next run finishes the job.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ingest.contract import Chunk, DocType
from ingest.lexicon import Lexicon
from ingest.tags import equipment_tags

if TYPE_CHECKING:  # ingest.sources imports the PDF and text-splitting libraries (0.5 s)
    from ingest.sources import TextUnit

# Bump when what a row holds, or how it is derived, changes: rows are then rebuilt from the
# file on the next ingest run (without embedding anything again).
RECORDS_FORMAT = "1"

_WORD = re.compile(r"[a-z][a-z0-9/]*")
# The rule behind `describe`: the first action word and symptom word of the normalised text
# name the action and symptom; the other words, minus position words, ids and numbers, are
# the component (at most four words).
ACTIONS = {
    "replace": "replace", "replaced": "replace", "replacing": "replace", "change": "replace",
    "changed": "replace", "swap": "replace", "swapped": "replace", "renew": "replace",
    "repair": "repair", "repaired": "repair", "rep": "repair", "rectify": "repair", "fix": "repair",
    "fixed": "repair", "weld": "repair", "welded": "repair", "reweld": "repair",
    "inspect": "inspect", "inspection": "inspect", "check": "inspect", "test": "inspect",
    "investigate": "inspect", "diagnose": "inspect", "monitor": "inspect", "measure": "inspect",
    "service": "service", "servicing": "service", "grease": "service",
    "lubricate": "service", "clean": "service",
    "adjust": "adjust", "tighten": "adjust", "calibrate": "adjust",
    "fit": "fit", "install": "fit", "fitted": "fit", "remove": "remove", "removed": "remove",
}
SYMPTOMS = {
    "leak": "leak", "leaking": "leak", "leaks": "leak", "weeping": "leak",
    "unserviceable": "not working", "faulty": "fault", "fault": "fault", "faults": "fault",
    "failed": "failed", "failure": "failed", "broken": "broken", "broke": "broken",
    "smashed": "broken", "snapped": "broken", "cracked": "cracked", "crack": "cracked",
    "cracks": "cracked", "cracking": "cracked", "damaged": "damaged", "damage": "damaged",
    "bent": "damaged", "noise": "noise", "noisy": "noise", "overheating": "overheating",
    "hot": "overheating", "loose": "loose", "missing": "missing", "worn": "worn",
    "seized": "seized", "stuck": "stuck", "sticking": "stuck", "blown": "blown",
    "dragging": "dragging", "error": "fault", "alarm": "alarm",
}
_NOT_COMPONENT = frozenset({
    "a", "an", "and", "the", "to", "of", "on", "in", "at", "for", "with", "from", "as", "per",
    "is", "are", "has", "have", "be", "not", "working", "no", "position", "left", "right",
    "hand", "side", "front", "rear", "both", "all", "new", "out", "up", "down", "off", "x",
    "mechanical", "electrical", "machine", "tbc", "req", "required", "needs", "need",
})


def describe(normalised: str) -> tuple[str, str, str]:
    """(action, symptom, component) of a work order's normalised text, by the rule above:
    "replace left hand hydraulic cylinder leaking" -> ("replace", "leak", "hydraulic
    cylinder"). Empty strings where the rule finds nothing."""
    words = [w.strip("/") for w in _WORD.findall(normalised)]
    action = next((ACTIONS[w] for w in words if w in ACTIONS), "")
    symptom = next((SYMPTOMS[w] for w in words if w in SYMPTOMS), "")
    if "not working" in normalised:
        symptom = symptom or "not working"
    tags = equipment_tags(normalised.upper())
    rest = [w for w in words if w not in ACTIONS and w not in SYMPTOMS
            and w not in _NOT_COMPONENT and w not in tags and not re.search(r"\d", w)]
    return action, symptom, " ".join(rest[:4])


@dataclass(frozen=True)
class WorkOrder:
    """One work order, as its file holds it."""

    file: str
    record_id: str
    description: str  # as written
    position: int = 0  # its place in the file, from 0
    sha256: str = ""  # the version of the file it is from
    assets: tuple[str, ...] = ()  # normalised tags (ingest.tags): ph639
    date: str | None = None  # ISO YYYY-MM-DD when the export has one
    normalised: str = ""  # the description in full words, lower-case
    action: str = ""
    symptom: str = ""
    component: str = ""
    fields: tuple[tuple[str, str], ...] = ()  # the row's other columns

    def chunk(self) -> Chunk:
        """The work order as the passage it is in the index: what a citation opens."""
        text = "\n".join([self.description, *(f"{k}: {v}" for k, v in self.fields)])
        return Chunk(text=text, file=self.file, file_sha256=self.sha256, doc_type=DocType.LOG,
                     chunk_index=self.position, record_id=self.record_id,
                     equipment_tags=self.assets, date=self.date)

    @property
    def asset(self) -> str:
        """The asset it is booked on (the first tag it names), upper-case, or ''."""
        return self.assets[0].upper() if self.assets else ""


def work_orders(units: Iterable[TextUnit], file: str, sha256: str,
                lexicon: Lexicon) -> list[WorkOrder]:
    """The work orders among a log file's text units, described."""
    orders = []
    for unit in units:
        if not unit.record_id:
            continue
        text = unit.description if unit.description is not None else unit.text
        normalised = lexicon.normalise(text)
        action, symptom, component = describe(normalised)
        orders.append(WorkOrder(
            file=file, record_id=unit.record_id, description=text, position=len(orders),
            sha256=sha256,
            assets=tuple(sorted(equipment_tags(text), key=text.lower().find)),
            date=unit.date, normalised=normalised, action=action, symptom=symptom,
            component=component, fields=unit.fields))
    return orders


@dataclass(frozen=True)
class Snapshot:
    """Every live work order, read once per change of the index."""

    version: str
    orders: list[WorkOrder] = field(default_factory=list)
    columns: frozenset[str] = frozenset()  # the other columns any export carries

    @property
    def assets(self) -> Counter[str]:
        return Counter(a for o in self.orders for a in o.assets)

    def assets_outside(self, hidden: frozenset[str]) -> Counter[str]:
        """The asset ids of the work orders in files other than ``hidden``."""
        if not hidden:
            return self.assets
        return Counter(a for o in self.orders if o.file not in hidden for a in o.assets)


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS work_orders (file TEXT NOT NULL, sha256 TEXT NOT NULL,"
    " record_id TEXT NOT NULL, position INTEGER NOT NULL, assets TEXT NOT NULL, date TEXT,"
    " description TEXT NOT NULL, normalised TEXT NOT NULL, action TEXT NOT NULL,"
    " symptom TEXT NOT NULL, component TEXT NOT NULL, fields TEXT NOT NULL,"
    " PRIMARY KEY (file, sha256, position))",
    "CREATE TABLE IF NOT EXISTS work_order_assets (asset TEXT NOT NULL, file TEXT NOT NULL,"
    " sha256 TEXT NOT NULL, position INTEGER NOT NULL)",
    "CREATE INDEX IF NOT EXISTS work_order_assets_by_asset ON work_order_assets (asset)",
    "CREATE INDEX IF NOT EXISTS work_order_assets_by_file ON work_order_assets (file, sha256)",
    # a file version whose rows are all written, and the recipe they were derived with
    "CREATE TABLE IF NOT EXISTS work_order_sets (file TEXT NOT NULL, sha256 TEXT NOT NULL,"
    " recipe TEXT NOT NULL, PRIMARY KEY (file, sha256))",
    # the manifest makes it too; here so that the reads below work on a fresh database
    "CREATE TABLE IF NOT EXISTS live (file TEXT PRIMARY KEY, sha256 TEXT NOT NULL)",
)
_ROW = ("w.file, w.record_id, w.description, w.position, w.sha256, w.assets, w.date, w.normalised, "
        "w.action, w.symptom, w.component, w.fields")
_LIVE = "JOIN live l ON l.file = w.file AND l.sha256 = w.sha256"


def _order(row: tuple) -> WorkOrder:  # type: ignore[type-arg]
    file, record_id, description, position, sha256, assets, date, normalised, action, \
        symptom, component, fields = row
    return WorkOrder(file, record_id, description, int(position), sha256,
                     tuple(assets.split()), date, normalised, action, symptom, component,
                     tuple(tuple(f) for f in json.loads(fields)))


class WorkOrderStore:
    """The work-order rows, in the manifest's database (``manifest.sqlite3``)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._lock = threading.Lock()
        self._snapshot = Snapshot("")

    @staticmethod
    def recipe(lexicon: Lexicon) -> str:
        """What a file's rows were derived with: a change rebuilds them."""
        return f"{RECORDS_FORMAT}:{lexicon.digest}"

    def is_current(self, file: str, sha256: str, recipe: str) -> bool:
        with self._lock:
            return self._db.execute(
                "SELECT 1 FROM work_order_sets WHERE file = ? AND sha256 = ? AND recipe = ?",
                (file, sha256, recipe)).fetchone() is not None

    def replace(self, file: str, sha256: str, recipe: str, orders: Sequence[WorkOrder]) -> None:
        """The rows of one version of a file, written whole in one transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._delete("file = ? AND sha256 = ?", (file, sha256))
                self._db.executemany(
                    "INSERT INTO work_orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(file, sha256, o.record_id, o.position, " ".join(o.assets), o.date,
                      o.description, o.normalised, o.action, o.symptom, o.component,
                      json.dumps(o.fields)) for o in orders])
                self._db.executemany(
                    "INSERT INTO work_order_assets VALUES (?, ?, ?, ?)",
                    [(a, file, sha256, o.position) for o in orders for a in o.assets])
                self._db.execute("INSERT INTO work_order_sets VALUES (?, ?, ?)",
                                 (file, sha256, recipe))
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def delete_other_versions(self, file: str, live_sha256: str) -> None:
        """Remove the rows of ``file`` of every version but the live one."""
        with self._lock:
            self._delete("file = ? AND sha256 != ?", (file, live_sha256))

    def delete_file(self, file: str) -> None:
        with self._lock:
            self._delete("file = ?", (file,))

    def _delete(self, where: str, args: tuple[str, ...]) -> None:
        for table in ("work_orders", "work_order_assets", "work_order_sets"):
            self._db.execute(f"DELETE FROM {table} WHERE {where}", args)

    def version(self) -> str:
        """Changes whenever the live work orders may have: a file switched version, or its
        rows were rebuilt."""
        digest = hashlib.sha256()
        with self._lock:  # one connection for every thread: one statement at a time
            rows = self._db.execute(
                "SELECT s.file, s.sha256, s.recipe FROM work_order_sets s JOIN live l "
                "ON l.file = s.file AND l.sha256 = s.sha256 ORDER BY s.file").fetchall()
        for row in rows:
            digest.update("\x1f".join(row).encode())
        return digest.hexdigest()

    def snapshot(self) -> Snapshot:
        """Every live work order, in file order; read again only after a change."""
        version = self.version()
        if version == self._snapshot.version:
            return self._snapshot
        with self._lock:
            rows = self._db.execute(f"SELECT {_ROW} FROM work_orders w {_LIVE} "
                                    "ORDER BY w.file, w.position").fetchall()
        orders = [_order(r) for r in rows]
        columns = frozenset(name for o in orders for name, _ in o.fields)
        self._snapshot = Snapshot(version, orders, columns)
        return self._snapshot

    def for_asset(self, asset: str) -> list[WorkOrder]:
        """The live work orders that name ``asset`` (normalised: ph639), in file order."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_ROW} FROM work_order_assets a JOIN work_orders w ON w.file = a.file "
                f"AND w.sha256 = a.sha256 AND w.position = a.position {_LIVE} "
                "WHERE a.asset = ? ORDER BY w.file, w.position", (asset.lower(),)).fetchall()
        return [_order(r) for r in rows]

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute(f"SELECT count(*) FROM work_orders w {_LIVE}")
                       .fetchone()[0])

    def close(self) -> None:
        self._db.close()
