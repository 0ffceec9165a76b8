"""The persistent sending queue: survives a restart, keeps order, bounded, skips corrupt files.

The last test is a real crash: `otel-ai-detect serve` is killed with SIGKILL
while it holds accepted spans it could not deliver, and a new process
delivers them.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading

import grpc
import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_ai_detect.config_types import QueueConfig
from otel_ai_detect.exporters.base import GRPC_METHODS
from otel_ai_detect.exporters.persistent_queue import PersistentQueue, StorageLocked
from otel_ai_detect.exporters.queue import QueueItem
from otel_ai_detect.testing import genai_span, traces_request

CLI = [sys.executable, "-m", "otel_ai_detect.cli"]


def group(i: int) -> tuple[QueueItem, ...]:
    return (QueueItem("traces", f"payload {i}".encode(), i + 1), QueueItem("alerts", b"a", 1))


def put(queue: PersistentQueue, g) -> None:
    assert queue.try_reserve()
    assert queue.fill(g)


def item_files(directory) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".item"))


def test_groups_survive_a_restart_in_order_and_are_deleted_once_done(tmp_path):
    first = PersistentQueue(10, tmp_path)
    for i in range(5):
        put(first, group(i))
    taken = first.take()
    first.done(taken)  # delivered: gone from disk
    in_flight = first.take()  # taken but never done: the "crash" happens during its export
    assert in_flight == group(1)
    first.release()  # the process dies here; nothing else is cleaned up

    second = PersistentQueue(10, tmp_path)
    assert second.recovered == 4 and second.corrupt == 0
    put(second, group(5))  # new requests come after what the last run left
    second.close()
    got = []
    while (g := second.take()) is not None:
        got.append(g)
        second.done(g)
    assert got == [group(i) for i in range(1, 6)]
    assert item_files(tmp_path) == []
    second.release()


def test_bounded_by_queue_size_including_what_was_loaded(tmp_path):
    queue = PersistentQueue(3, tmp_path)
    for i in range(3):
        put(queue, group(i))
    assert not queue.try_reserve()
    queue.release()
    again = PersistentQueue(2, tmp_path)  # a smaller queue_size: nothing on disk is dropped
    assert again.recovered == 3 and not again.try_reserve()
    for _ in range(2):
        again.done(again.take())
    assert again.try_reserve()  # 1 left + this reservation = 2
    again.fill(None)
    again.release()


def test_corrupt_and_torn_files_are_skipped_counted_and_set_aside(tmp_path, caplog):
    queue = PersistentQueue(10, tmp_path)
    for i in range(4):
        put(queue, group(i))
    queue.release()
    names = item_files(tmp_path)
    (tmp_path / names[0]).write_bytes(b"garbage")  # not a queue file at all
    data = (tmp_path / names[1]).read_bytes()
    (tmp_path / names[1]).write_bytes(data[: len(data) // 2])  # torn
    flipped = bytearray((tmp_path / names[2]).read_bytes())
    flipped[12] ^= 0xFF  # one bit-rotten byte: the checksum catches it
    (tmp_path / names[2]).write_bytes(bytes(flipped))
    (tmp_path / "00000000000000000099.tmp").write_bytes(b"half a write")  # never acknowledged

    reopened = PersistentQueue(10, tmp_path)
    assert (reopened.recovered, reopened.corrupt) == (1, 3)
    assert "unreadable" in caplog.text
    assert reopened.take() == group(3)
    assert len(list(tmp_path.glob("*.corrupt"))) == 3
    assert not list(tmp_path.glob("*.tmp"))
    put(reopened, group(7))  # the sequence continues past every name seen, .tmp included
    assert item_files(tmp_path)[-1] == f"{100:020d}.item"
    reopened.release()


def test_abandon_keeps_everything_on_disk_and_a_cut_export_is_kept_too(tmp_path):
    queue = PersistentQueue(10, tmp_path)
    for i in range(3):
        put(queue, group(i))
    delivered, cut_short = queue.take(), queue.take()
    queue.done(delivered, True)
    assert queue.abandon() == []  # nothing lost: nothing for the service to count as dropped
    queue.done(cut_short, False)  # the shutdown cut this export short: delivered next start
    queue.release()
    again = PersistentQueue(10, tmp_path)
    again.close()
    assert [again.take(), again.take(), again.take()] == [group(1), group(2), None]
    again.release()


def test_concurrent_fills_all_land_and_a_second_owner_is_refused(tmp_path):
    queue = PersistentQueue(200, tmp_path)
    with pytest.raises(StorageLocked):
        PersistentQueue(200, tmp_path)
    threads = [
        threading.Thread(target=lambda k=k: [put(queue, group(k * 25 + j)) for j in range(25)])
        for k in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.close()
    got = []
    while (g := queue.take()) is not None:
        got.append(g)
    assert sorted(g[0].count for g in got) == list(range(1, 201))
    queue.release()
    assert PersistentQueue(200, tmp_path).recovered == 200  # none done: all still on disk


def test_a_storage_error_refuses_the_request_and_frees_the_slot(tmp_path):
    queue = PersistentQueue(1, tmp_path)
    assert queue.try_reserve()
    queue.directory = tmp_path / "gone"  # the disk went away: the write fails (an OSError)
    with pytest.raises(OSError):
        queue.fill(group(0))
    assert queue.try_reserve()  # the slot came back
    queue.fill(None)
    queue.directory = tmp_path
    queue.release()


def test_the_service_refuses_what_it_cannot_store_and_delivers_what_it_stored(
    make_service, sink, tmp_path
):
    storage = tmp_path / "queue"
    service = make_service(sending_queue=QueueConfig(num_consumers=1, storage_dir=str(storage)))
    with grpc.insecure_channel(f"127.0.0.1:{service.grpc_port}") as channel:
        export = channel.unary_unary(GRPC_METHODS["traces"])
        export(traces_request(genai_span()).SerializeToString(), timeout=5)
        assert sink.wait_for(lambda: len(sink.spans()) == 1)
        storage.rename(tmp_path / "gone")  # the volume went away: nothing can be stored
        with pytest.raises(grpc.RpcError) as refused:
            export(traces_request(genai_span(), genai_span()).SerializeToString(), timeout=5)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE  # the sender retries it
        assert service.stats.get("traces", "refused") == 2
        storage.mkdir()  # back: accepted again, the slot was not leaked
        export(traces_request(genai_span()).SerializeToString(), timeout=5)
    assert sink.wait_for(lambda: len(sink.spans()) == 2)
    assert service.shutdown(deadline=5)
    assert not list(storage.glob("*.item"))
    PersistentQueue(1, storage).release()  # shutdown gave the directory lock up


# --- a real crash ---------------------------------------------------------------------------


def _serve(config_path, env):
    process = subprocess.Popen(
        [*CLI, "serve", "--config", str(config_path)], stderr=subprocess.PIPE, text=True, env=env
    )
    for line in process.stderr:  # the log line that names the bound port
        match = re.search(r"listening: grpc (\d+)", line)
        if match:
            # Keep reading stderr so the child never blocks on a full pipe.
            threading.Thread(target=process.stderr.read, daemon=True).start()
            return process, int(match.group(1))
    process.kill()
    raise AssertionError("serve did not report its port")


def test_spans_accepted_before_a_kill_9_are_delivered_by_the_next_process(sink, tmp_path):
    sink.stop()  # the downstream is away (its port is kept): nothing can be delivered
    storage = tmp_path / "queue"
    config = tmp_path / "serve.yaml"
    config.write_text(f"""
receivers: {{otlp: {{protocols: {{grpc: {{endpoint: "127.0.0.1:0"}}}}}}}}
exporters:
  otlp:
    endpoint: "{sink.grpc_endpoint}"
    protocol: grpc
    tls: {{insecure: true}}
    compression: none
    retry_on_failure: {{initial_interval: 50ms, max_interval: 200ms, max_elapsed_time: 0}}
    sending_queue: {{num_consumers: 2, queue_size: 100, storage_dir: "{storage}"}}
service: {{telemetry: {{metrics: {{endpoint: "127.0.0.1:0"}}}}}}
""")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    n = 20
    process, port = _serve(config, env)
    sent = InMemorySpanExporter()
    try:
        exporter = OTLPSpanExporter(endpoint=f"127.0.0.1:{port}", insecure=True, timeout=10)
        accepted = []
        for i in range(n):  # one request per span; each export returns only on the OK
            provider = TracerProvider()
            provider.add_span_processor(SimpleSpanProcessor(sent))
            provider.get_tracer("crash").start_span(f"span {i}").end()
            span = sent.get_finished_spans()[-1]
            assert exporter.export([span]) is SpanExportResult.SUCCESS
            accepted.append(span.context.span_id.to_bytes(8, "big"))
        exporter.shutdown()
        process.kill()  # SIGKILL: no drain, no cleanup
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert len(list(storage.glob("*.item"))) == n  # all still on disk, none delivered

    sink.start()
    process, _ = _serve(config, env)
    try:
        assert sink.wait_for(lambda: len(sink.spans()) >= n, 20), "spans were lost"
        # Empty storage: every file was deleted after delivery (the exporter is done).
        assert process.poll() is None
    finally:
        process.terminate()
        process.wait(timeout=30)
    received = [s.span_id for s in sink.spans()]
    # Delivery is at-least-once; here nothing was in flight at the kill, so exactly once.
    assert sorted(received) == sorted(accepted)
    assert not list(storage.glob("*.item"))
