"""span_peer: the end user's address candidates and user agent from HTTP server spans."""

from __future__ import annotations

import pytest
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from samples import make_span

from otel_ai_detect.extract import span_conversation, span_peer

SERVER = Span.SPAN_KIND_SERVER


@pytest.mark.parametrize("attrs,addresses", [
    # Python normalises header dashes to underscores; both spellings are read.
    ({"http.request.header.x_forwarded_for": ["185.220.101.34, 10.1.2.3"], "client.address": "127.0.0.1"},
     ("185.220.101.34", "10.1.2.3", "127.0.0.1")),
    ({"http.request.header.x-forwarded-for": ["1.1.1.1,2.2.2.2", "3.3.3.3"]},
     ("1.1.1.1", "2.2.2.2", "3.3.3.3")),
    ({"http.request.header.x-forwarded-for": "9.9.9.9:5555"}, ("9.9.9.9",)),
    # Forwarded: quoted IPv6 in brackets with a port, several elements, obfuscated ids dropped
    ({"http.request.header.forwarded": ['for="[2001:db8:cafe::17]:4711";proto=https, For=_hidden, for=unknown',
                                        "for=192.0.2.60;by=203.0.113.43"]},
     ("2001:db8:cafe::17", "192.0.2.60")),
    ({"http.request.header.x-real-ip": ["8.8.4.4"], "net.peer.ip": "10.0.0.1"}, ("8.8.4.4", "10.0.0.1")),
    # most original first: XFF, Forwarded, X-Real-IP, then the attributes in their order
    ({"network.peer.address": "10.0.0.9", "net.sock.peer.addr": "10.0.0.8", "net.peer.ip": "10.0.0.7",
      "http.client_ip": "10.0.0.6", "client.address": "10.0.0.5",
      "http.request.header.x_real_ip": ["10.0.0.4"], "http.request.header.forwarded": ["for=10.0.0.3"],
      "http.request.header.x_forwarded_for": ["10.0.0.1, 10.0.0.2"]},
     tuple(f"10.0.0.{i}" for i in range(1, 10))),
    # de-duplicated, garbage ignored
    ({"http.request.header.x_forwarded_for": ["5.5.5.5, not-an-ip, 5.5.5.5, <script>"],
      "client.address": "5.5.5.5"}, ("5.5.5.5",)),
])
def test_address_candidates_are_most_original_first_and_normalized(attrs, addresses):
    assert span_peer(make_span(attrs, kind=SERVER)).addresses == addresses


def test_the_first_public_address_is_the_peer_address():
    peer = span_peer(make_span({"http.request.header.x_forwarded_for": ["10.1.2.3, 185.220.101.34"],
                                "client.address": "127.0.0.1"}, kind=SERVER))
    assert peer.address == "185.220.101.34"


@pytest.mark.parametrize("attrs,user_agent", [
    ({"user_agent.original": "new", "http.user_agent": "old", "http.request.header.user_agent": ["hdr"]}, "new"),
    ({"http.user_agent": "old", "http.request.header.user-agent": ["hdr"]}, "old"),
    ({"http.request.header.user-agent": ["sqlmap/1.7.2#stable"]}, "sqlmap/1.7.2#stable"),
    ({"client.address": "1.2.3.4"}, None),
])
def test_user_agent_prefers_the_new_attribute_then_the_old_then_the_header(attrs, user_agent):
    assert span_peer(make_span(attrs, kind=SERVER)).user_agent == user_agent


@pytest.mark.parametrize("attrs,kind", [
    ({"client.address": "1.2.3.4", "user_agent.original": "x"}, Span.SPAN_KIND_CLIENT),
    ({"client.address": "1.2.3.4"}, Span.SPAN_KIND_INTERNAL),
    ({"http.request.method": "GET"}, SERVER),
    ({"client.address": "not an address"}, SERVER),
])
def test_no_peer_for_other_span_kinds_or_when_nothing_is_found(attrs, kind):
    assert span_peer(make_span(attrs, kind=kind)) is None


def test_a_huge_forwarded_for_header_is_capped():
    hops = ", ".join(f"10.{i // 256 % 256}.{i % 256}.1" for i in range(100_000))
    peer = span_peer(make_span({"http.request.header.x_forwarded_for": [hops]}, kind=SERVER))
    assert 0 < len(peer.addresses) <= 16 and peer.addresses[0] == "10.0.0.1"


def test_a_genai_server_span_carries_its_own_peer():
    conv = span_conversation(make_span({"gen_ai.operation.name": "chat", "client.address": "203.0.113.9",
                                        "user_agent.original": "curl/8"}, kind=SERVER))
    assert conv.peer.address == "203.0.113.9" and conv.peer.user_agent == "curl/8"
    assert span_conversation(make_span({"gen_ai.operation.name": "chat",
                                        "client.address": "203.0.113.9"})).peer.empty
