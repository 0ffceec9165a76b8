"""A real dnsmasq on 127.0.0.1 that answers like the block lists, for tests.

    from dns_server import running_dns_server, DBL_ZONE
    with running_dns_server() as (host, port):
        DnsLookup(DnsConfig(nameservers=(f"{host}:{port}",)))

Zones (all under `.test`, never a public name): `DBL_ZONE`, `SURBL_ZONE`,
`DNSEL_ZONE` answer per `RECORDS`; other names in them are NXDOMAIN
(`--local`). Names under `refused.test` (or any unconfigured zone) get
REFUSED; names under `timeout.test` are forwarded to a closed loopback port,
so the client sees a timeout. dnsmasq cannot be made to answer SERVFAIL
without a real upstream, so there is no SERVFAIL name.

When dnsmasq is missing (`make dns-server` installs it; it needs root and
apt-get) the helper skips the test with that reason instead of failing.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Iterable, Iterator

import dns.exception
import dns.message
import dns.query
import pytest

DBL_ZONE = "dbl.spamhaus.test"
SURBL_ZONE = "multi.surbl.test"
DNSEL_ZONE = "dnsel.torproject.test"
TTL = 300  # dnsmasq's default local TTL is 0, which would defeat caching tests

RECORDS: tuple[tuple[str, str], ...] = (
    # Spamhaus DBL
    (f"phish.example.{DBL_ZONE}", "127.0.1.4"),
    (f"malware.example.{DBL_ZONE}", "127.0.1.5"),
    (f"cc.example.{DBL_ZONE}", "127.0.1.6"),
    (f"abused-phish.example.{DBL_ZONE}", "127.0.1.104"),
    (f"spam.example.{DBL_ZONE}", "127.0.1.2"),
    (f"error.example.{DBL_ZONE}", "127.255.255.254"),
    (f"dbl-error.example.{DBL_ZONE}", "127.0.1.255"),
    (f"hijacked.example.{DBL_ZONE}", "192.0.2.10"),
    (f"multi.example.{DBL_ZONE}", "127.0.1.2"),   # spam + phishing: listed
    (f"multi.example.{DBL_ZONE}", "127.0.1.4"),
    # SURBL multi
    (f"ph.example.{SURBL_ZONE}", "127.0.0.8"),
    (f"mw-abuse.example.{SURBL_ZONE}", "127.0.0.80"),
    (f"abuse-only.example.{SURBL_ZONE}", "127.0.0.64"),
    (f"refused.example.{SURBL_ZONE}", "127.0.0.1"),
    # Tor DNSEL (185.220.101.34 is an exit; reversed octets)
    (f"34.101.220.185.{DNSEL_ZONE}", "127.0.0.2"),
    # 2001:db8::1 as reversed nibbles
    (f"1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.{DNSEL_ZONE}", "127.0.0.2"),
)
CNAMES: tuple[tuple[str, str], ...] = (
    (f"alias.example.{DBL_ZONE}", f"phish.example.{DBL_ZONE}"),
)
TXT: tuple[tuple[str, str], ...] = (
    (f"txt-only.example.{DBL_ZONE}", "listed, see website"),
)
READY_NAME = f"phish.example.{DBL_ZONE}"

MISSING_REASON = ("dnsmasq is not installed: run `make dns-server` "
                  "(installs it with apt-get; needs root on Debian/Ubuntu)")


def dnsmasq_path() -> str | None:
    # /usr/sbin is not on a non-root PATH everywhere.
    return shutil.which("dnsmasq") or shutil.which("dnsmasq", path="/usr/sbin:/sbin")


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 right now (dnsmasq binds both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port on 127.0.0.1")


def _ready(port: int, proc: subprocess.Popen, deadline: float) -> bool:
    """Ask a real question until dnsmasq answers it (or exits, or time is up)."""
    query = dns.message.make_query(READY_NAME, "A")
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            dns.query.udp(query, "127.0.0.1", port=port, timeout=0.2)
            return True
        except (dns.exception.Timeout, OSError):
            time.sleep(0.02)
    return False


@contextlib.contextmanager
def running_dns_server(records: Iterable[tuple[str, str]] = RECORDS,
                       extra_args: Iterable[str] = ()) -> Iterator[tuple[str, int]]:
    """dnsmasq on 127.0.0.1:<free port> serving `records` (name, IPv4); yields (host, port)."""
    binary = dnsmasq_path()
    if binary is None:
        pytest.skip(MISSING_REASON)
    records = tuple(records)
    zones = sorted({DBL_ZONE, SURBL_ZONE, DNSEL_ZONE})
    for attempt in range(5):  # another process may take the port between probe and bind
        port, closed_port = free_port(), free_port()
        args = [binary, "--no-daemon", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                "--listen-address=127.0.0.1", f"--port={port}", "--bind-interfaces",
                "--pid-file=",
                f"--local-ttl={TTL}", "--cache-size=0",
                *(f"--local=/{zone}/" for zone in zones),
                f"--server=/timeout.test/127.0.0.1#{closed_port}",
                *(f"--host-record={name},{ip}" for name, ip in records),
                *(f"--cname={name},{target}" for name, target in CNAMES),
                *(f"--txt-record={name},{text}" for name, text in TXT),
                *extra_args]
        log = tempfile.TemporaryFile()
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        try:
            if _ready(port, proc, time.monotonic() + 10):
                yield "127.0.0.1", port
                return
            if attempt == 4:
                log.seek(0)
                raise RuntimeError("dnsmasq did not start: " + log.read().decode(errors="replace"))
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            log.close()
