"""Directory accounts: the plant's Active Directory or OpenLDAP says who someone is and, by
their groups, which role they have (ldap3).

The second source of users beside the local accounts table (users.py), kept here with it:
both answer "who is this, with which role". A person is found by a configured attribute with
the service account (or anonymously), their password checked by a bind as them, and their
groups read — nested ones too, by walking group membership (any server) or by Active
Directory's LDAP_MATCHING_RULE_IN_CHAIN. Nothing of the directory is stored: not the password,
not the role (``current`` caches the answer in memory for ``revalidate_s``).
"""

from __future__ import annotations

import contextlib
import math
import re
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import ldap3
from ldap3.core import exceptions as ldap_errors
from ldap3.utils.conv import escape_filter_chars

from app.records.users import Role, User

# LDAP_MATCHING_RULE_IN_CHAIN: Active Directory follows group nesting itself.
_IN_CHAIN = "1.2.840.113556.1.4.1941"
_WALK_DEPTH = 8
_RANK = {Role.OPERATOR: 0, Role.TECHNICIAN: 1, Role.ADMIN: 2}
# What a directory sign-in name may hold: uid, sAMAccountName, userPrincipalName (with @)
_NAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{0,127}$")
Clock = Callable[[], float]


class DirectoryUnavailable(Exception):
    """The directory did not answer, its certificate was not trusted, or it refused the
    service account: no one can be told apart, which is not a wrong password. The message
    says which, for the sign-in page and `plantops doctor`."""


class NotInAGroup(Exception):
    """Right password, but the account is in none of the groups that give a role."""


@dataclass(frozen=True)
class DirectoryConfig:
    url: str
    user_base: str
    group_base: str
    roles: dict[str, str]  # group DN -> role name
    user_attribute: str = "uid"
    user_filter: str = "(objectClass=person)"
    member_attribute: str = "member"
    nested_groups: Literal["walk", "in_chain"] = "walk"
    start_tls: bool = False
    ca_file: str | None = None
    bind_dn: str | None = None
    bind_password: str | None = field(default=None, repr=False)
    timeout_s: float = 5.0
    revalidate_s: float = 300.0
    unreachable_grace_s: float = 3600.0


@dataclass
class _Known:
    user: User | None
    checked: float  # last time the directory was asked
    confirmed: float  # last time it answered with this user


class Directory:
    def __init__(self, config: DirectoryConfig, clock: Clock = time.time) -> None:
        self.config = config
        self._clock = clock
        self._roles = {dn_key(dn): Role(role) for dn, role in config.roles.items()}
        self._tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=config.ca_file,
                              version=ssl.PROTOCOL_TLS_CLIENT)
        self._answer_s = max(1, math.ceil(config.timeout_s))  # ldap3 packs it as an integer
        self._known: dict[str, _Known] = {}
        self._lock = threading.Lock()

    # -- signing in ----------------------------------------------------------------------

    def authenticate(self, name: str, password: str) -> User | None:
        """The user when the directory accepts this name and password and a mapped group
        holds them; None for a wrong password or an unknown (or disabled) name, after the
        same kind of work. Raises DirectoryUnavailable, or NotInAGroup."""
        if not _NAME.match(name) or not password:
            return None
        with self._service() as conn:
            dn = self._find(conn, name)
            # Unknown or disabled: a bind that fails all the same, so the time taken does
            # not tell which names the directory holds.
            if not self._binds(dn or f"cn=plantops-no-such-user,{self.config.user_base}",
                               password) or dn is None:
                return None
            user = self._user(conn, name, dn)
        now = self._clock()
        with self._lock:
            self._known[name] = _Known(user, now, now)
        if user is None:
            raise NotInAGroup(name)
        return user

    # -- every request ---------------------------------------------------------------------

    def current(self, name: str) -> User | None:
        """The signed-in ``name`` as the directory last said, asked again after
        ``revalidate_s``: disabled, removed or out of every group → None. While the
        directory does not answer, the last confirmed role holds for
        ``unreachable_grace_s``."""
        now = self._clock()
        with self._lock:
            known = self._known.get(name)
        if known and now - known.checked < self.config.revalidate_s:
            return known.user
        try:
            user = self.lookup(name)
        except DirectoryUnavailable:
            if known and known.user and now - known.confirmed < self.config.unreachable_grace_s:
                with self._lock:
                    known.checked = now  # ask again after revalidate_s, not at every request
                return known.user
            return None
        with self._lock:
            self._known[name] = _Known(user, now, now)
        return user

    def lookup(self, name: str) -> User | None:
        """The account's role now, without its password (None: not found, disabled, or in
        no mapped group)."""
        if not _NAME.match(name):
            return None
        with self._service() as conn:
            dn = self._find(conn, name)
            return self._user(conn, name, dn) if dn else None

    def check(self) -> str:
        """For `plantops doctor`: the service bind, a lookup of accounts, and each mapped
        group found. Raises DirectoryUnavailable with what is wrong."""
        with self._service() as conn:
            conn.search(self.config.user_base, self.config.user_filter,
                        attributes=[self.config.user_attribute], size_limit=1)
            if conn.result["result"] not in (0, 4):  # 4: size limit reached (good)
                raise DirectoryUnavailable(
                    f"searching {self.config.user_base!r} with {self.config.user_filter!r} "
                    f"failed: {conn.result['description']}; check directory.user_base")
            accounts = len(conn.entries)
            missing = [dn for dn in self.config.roles if not self._exists(conn, dn)]
        if missing:
            raise DirectoryUnavailable(
                f"group(s) in directory.roles not found in the directory: {'; '.join(missing)}"
                " — check their DNs")
        who = self.config.bind_dn or "anonymous"
        found = "accounts found" if accounts else "NO account matches user_filter"
        return (f"{self.config.url}: bound as {who}, {found} under {self.config.user_base}, "
                f"{len(self.config.roles)} group(s) mapped to roles")

    # -- the parts ---------------------------------------------------------------------------

    def _server(self) -> ldap3.Server:
        """A new one for each connection: ldap3's Server remembers an address that failed
        and kept refusing it after the directory came back."""
        return ldap3.Server(self.config.url, connect_timeout=self.config.timeout_s,
                            tls=self._tls, get_info=ldap3.NONE)

    def _service(self) -> ldap3.Connection:
        """A connection bound as the service account (or anonymous), TLS first."""
        conn = ldap3.Connection(self._server(), user=self.config.bind_dn,
                                password=self.config.bind_password,
                                receive_timeout=self._answer_s,
                                raise_exceptions=False, read_only=True)
        try:
            self._open(conn)
            if not conn.bind():
                raise DirectoryUnavailable(
                    f"the directory at {self.config.url} refused the service account "
                    f"{self.config.bind_dn or '(anonymous)'}: {conn.result['description']}; "
                    "check directory.bind_dn and directory.bind_password_file")
        except DirectoryUnavailable:
            _close(conn)
            raise
        return conn

    def _open(self, conn: ldap3.Connection) -> None:
        try:
            conn.open()
            if self.config.start_tls and not conn.start_tls():
                raise DirectoryUnavailable(
                    f"the directory at {self.config.url} refused StartTLS: "
                    f"{conn.result['description']}")
        except ldap_errors.LDAPSocketOpenError as exc:
            if "certificate" in str(exc).lower():
                raise DirectoryUnavailable(
                    f"the directory's certificate at {self.config.url} is not trusted "
                    f"({_short(exc)}); check directory.ca_file") from None
            raise DirectoryUnavailable(
                f"the directory at {self.config.url} does not answer ({_short(exc)})") from None
        except ldap_errors.LDAPStartTLSError as exc:
            raise DirectoryUnavailable(
                f"StartTLS with the directory at {self.config.url} failed ({_short(exc)}); "
                "check directory.ca_file") from None
        except (ldap_errors.LDAPException, OSError) as exc:
            raise DirectoryUnavailable(
                f"the directory at {self.config.url} does not answer ({_short(exc)})") from None

    def _find(self, conn: ldap3.Connection, name: str) -> str | None:
        """The DN of the enabled account signed in as ``name``, or None."""
        query = (f"(&{self.config.user_filter}"
                 f"({self.config.user_attribute}={escape_filter_chars(name)}))")
        self._search(conn, self.config.user_base, query, size_limit=2)
        found = [e.entry_dn for e in conn.entries]
        return found[0] if len(found) == 1 else None  # two accounts with one name: neither

    def _binds(self, dn: str, password: str) -> bool:
        conn = ldap3.Connection(self._server(), user=dn, password=password,
                                receive_timeout=self._answer_s,
                                raise_exceptions=False, read_only=True)
        try:
            self._open(conn)
            return bool(conn.bind())
        finally:
            _close(conn)

    def _user(self, conn: ldap3.Connection, name: str, dn: str) -> User | None:
        groups = self._groups(conn, dn)
        roles = [self._roles[g] for g in groups if g in self._roles]
        return (User(name, max(roles, key=_RANK.__getitem__), frozenset(groups)) if roles
                else None)

    def _groups(self, conn: ldap3.Connection, dn: str) -> set[str]:
        """Every group holding ``dn``, directly or through other groups (normalised DNs)."""
        member = self.config.member_attribute
        if self.config.nested_groups == "in_chain":
            self._search(conn, self.config.group_base,
                         f"({member}:{_IN_CHAIN}:={escape_filter_chars(dn)})")
            return {dn_key(e.entry_dn) for e in conn.entries}
        found: set[str] = set()
        frontier = [dn]
        for _ in range(_WALK_DEPTH):
            query = "(|" + "".join(f"({member}={escape_filter_chars(d)})" for d in frontier) + ")"
            self._search(conn, self.config.group_base, query)
            frontier = [e.entry_dn for e in conn.entries if dn_key(e.entry_dn) not in found]
            found.update(dn_key(d) for d in frontier)
            if not frontier:
                break
        return found

    def _search(self, conn: ldap3.Connection, base: str, query: str, **kwargs: Any) -> None:
        try:
            conn.search(base, query, attributes=[], **kwargs)
        except (ldap_errors.LDAPException, OSError) as exc:
            raise DirectoryUnavailable(
                f"the directory at {self.config.url} stopped answering ({_short(exc)})"
            ) from None
        if conn.result["result"] not in (0, 4, 32):  # 32: no such object (nothing there)
            raise DirectoryUnavailable(
                f"the directory at {self.config.url} refused a search under {base!r}: "
                f"{conn.result['description']} {conn.result.get('message', '')}".strip())

    def _exists(self, conn: ldap3.Connection, dn: str) -> bool:
        try:
            return bool(conn.search(_normal_dn(dn), "(objectClass=*)",
                                    search_scope=ldap3.BASE, attributes=[]))
        except (ldap_errors.LDAPException, OSError):
            return False


_SEPARATOR = re.compile(r"\s*(?<!\\)([,=])\s*")


def _normal_dn(dn: str) -> str:
    """A DN as admins write it ("CN=Ops, OU=Groups") as the directory reads it: no spaces
    around the separators (an escaped comma stays)."""
    return _SEPARATOR.sub(r"\1", dn.strip())


def dn_key(dn: str) -> str:
    """DNs compared as a directory compares these attributes: without case."""
    return _normal_dn(dn).lower()


def _close(conn: ldap3.Connection) -> None:
    """Unbind, and forget it if the socket is already gone (a failed TLS handshake)."""
    with contextlib.suppress(ldap_errors.LDAPException, OSError):
        conn.unbind()


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) < 200 else text[:197] + "…"
