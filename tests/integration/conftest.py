"""A small work-order export on real components, for the history and work-order tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import make_services, make_settings

WORK_ORDERS = """work_order_id,description,date
WO-1,QR0218 Replace Blown Aircon Pump Hose,2024-01-05
WO-2,QR0218- C/O No2 A/C compressor,2024-03-11
WO-3,QR0218 Repair Air Conditioner,2024-07-30
WO-4,QR0218 air con 1&2 leaking,2025-02-02
WO-5,QR0218 REPL TRACK TENSION CYL,2024-02-01
WO-6,PH639 JUMP START,2024-04-04
WO-7,AN426 JUMP START MACHINE,2024-05-05
WO-8,Jump start machine,2024-06-06
WO-9,PH639 REPL COOLANT LEVEL SENSOR,2024-08-08
WO-10,FW9593 Park brake door alarm faulty,2024-09-09
WO-11,UM4228 Repair Park Brake Door Alarm,2024-10-10
WO-12,MB119 replace park brake coil,2024-11-11
"""


@pytest.fixture
def services(tmp_path: Path, embedder):  # type: ignore[no-untyped-def]
    services = make_services(make_settings(tmp_path / "data"), embedder)
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "work_orders.csv").write_text(WORK_ORDERS)
    report = services.ingestor.ingest([logs])
    assert report.exit_code == 0, report.failed
    services.logs = logs
    return services
