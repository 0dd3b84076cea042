"""A real OpenLDAP directory for the tests (Debian's slapd and ldap-utils), in a folder of the
test's own on a free loopback port, with StartTLS from a test CA (trustme) and a plant's
people and nested groups:

    ou=people   alice (shift-a), bob (maintenance), carol (disabled: employeeType=disabled),
                dave (in no PlantOps group), erin (plantops-admins), frank
    ou=groups   operators ∋ shift-a ∋ alice        (nested: alice is an operator)
                maintenance ∋ bob, frank           (technicians)
                plantops-admins ∋ erin

Every password is ``<name>-pw-2026``; the service account is ``cn=plantops-svc`` with the
password in a file, as the app reads it."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ON_CI, free_port

BASE = "dc=plant,dc=example"
ADMIN_DN = f"cn=admin,{BASE}"
ADMIN_PASSWORD = "slapd-root-2026"
SERVICE_DN = f"cn=plantops-svc,{BASE}"
GROUPS = f"ou=groups,{BASE}"
PEOPLE = f"ou=people,{BASE}"

_PEOPLE = ("alice", "bob", "carol", "dave", "erin", "frank")
_GROUPS = {"shift-a": ["uid=alice"], "operators": ["cn=shift-a"],
           "maintenance": ["uid=bob", "uid=frank"], "plantops-admins": ["uid=erin"],
           "canteen": ["uid=dave"]}


def password(name: str) -> str:
    return f"{name}-pw-2026"


def group(name: str) -> str:
    return f"cn={name},{GROUPS}"


def person(name: str) -> str:
    return f"uid={name},{PEOPLE}"


def _ldif() -> str:
    entries = [f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: plant\n"
               "o: Plant",
               f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people",
               f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups",
               f"dn: {SERVICE_DN}\nobjectClass: person\ncn: plantops-svc\nsn: service\n"
               f"userPassword: {password('plantops-svc')}"]
    for name in _PEOPLE:
        entry = (f"dn: {person(name)}\nobjectClass: inetOrgPerson\nuid: {name}\n"
                 f"cn: {name.title()}\nsn: {name.title()}\nuserPassword: {password(name)}")
        if name == "carol":
            entry += "\nemployeeType: disabled"
        entries.append(entry)
    for name, members in _GROUPS.items():
        dns = [f"{m},{GROUPS if m.startswith('cn=') else PEOPLE}" for m in members]
        entries.append(f"dn: {group(name)}\nobjectClass: groupOfNames\ncn: {name}\n"
                       + "\n".join(f"member: {dn}" for dn in dns))
    return "\n\n".join(entries) + "\n"


@dataclass
class Slapd:
    folder: Path
    port: int
    ca_file: Path
    service_password_file: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.folder / "slapd.log", "ab") as log:  # the child keeps its own copy
            self.process = subprocess.Popen(
                [_binary("slapd"), "-f", str(self.folder / "slapd.conf"), "-h", self.url,
                 "-d", "0"], stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("slapd exited: " + (self.folder / "slapd.log").read_text())
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("slapd did not listen within 30 s")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def settings(self) -> dict[str, object]:
        """The `directory` settings that reach it, as docs/admin.md's OpenLDAP example: StartTLS
        with the plant's CA, a service account whose password is in a file, disabled accounts
        left out by the filter, groups mapped to roles (one DN written in another case and
        spacing)."""
        return {"url": self.url, "start_tls": True, "ca_file": str(self.ca_file),
                "bind_dn": SERVICE_DN, "bind_password_file": str(self.service_password_file),
                "user_base": PEOPLE, "group_base": GROUPS,
                "user_filter": "(&(objectClass=inetOrgPerson)(!(employeeType=disabled)))",
                "roles": {group("operators"): "operator", group("maintenance"): "technician",
                          "CN=PlantOps-Admins, OU=Groups, DC=plant, DC=example": "admin"}}

    def modify(self, ldif: str) -> None:
        """An ldapmodify as the directory's administrator (IT removing someone from a group)."""
        subprocess.run([_binary("ldapmodify"), "-x", "-H", self.url, "-D", ADMIN_DN, "-w",
                        ADMIN_PASSWORD], input=ldif.encode(), check=True, capture_output=True)


def _binary(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    if not found:
        message = (f"{name} is not installed (Debian packages slapd and ldap-utils; "
                   "`make test` installs them)")
        if ON_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def start_slapd(folder: Path) -> Iterator[Slapd]:
    """Load the people and groups with slapadd, serve on a free loopback port with StartTLS;
    stopped at the end."""
    import trustme

    slapadd = _binary("slapadd")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "db").mkdir()
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    server.cert_chain_pems[0].write_to_path(str(folder / "server.pem"))
    server.private_key_pem.write_to_path(str(folder / "server.key"))
    schema = "/etc/ldap/schema"
    (folder / "slapd.conf").write_text(f"""\
include {schema}/core.schema
include {schema}/cosine.schema
include {schema}/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {folder}/slapd.pid
TLSCACertificateFile {folder}/ca.pem
TLSCertificateFile {folder}/server.pem
TLSCertificateKeyFile {folder}/server.key
database mdb
maxsize 16777216
suffix "{BASE}"
rootdn "{ADMIN_DN}"
rootpw {ADMIN_PASSWORD}
directory {folder}/db
access to attrs=userPassword by self read by anonymous auth by * none
access to * by users read by * none
""")
    (folder / "people.ldif").write_text(_ldif())
    subprocess.run([slapadd, "-f", str(folder / "slapd.conf"), "-l", str(folder / "people.ldif")],
                   check=True, capture_output=True)
    service_password = folder / "service-password"
    service_password.write_text(password("plantops-svc") + "\n")
    os.chmod(service_password, 0o600)
    slapd = Slapd(folder, free_port(), folder / "ca.pem", service_password)
    slapd.start()
    try:
        yield slapd
    finally:
        slapd.stop()
