"""The `otel-ai-detect` command: serve | validate | scan | demo."""

from __future__ import annotations

import argparse
import gc
import logging
import signal
import sys
import threading
from pathlib import Path

from otel_ai_detect import __version__, heap
from otel_ai_detect.config import ConfigError, format_problems, load_config

EXIT_CONFIG = 2


def _load(path: str | None):
    """The config, with every detector it enables built (so their problems show too)."""
    from otel_ai_detect.detectors.registry import build_detectors

    try:
        config = load_config(path)
        build_detectors(config.detectors, config.intel)  # cached: the engine gets these same ones
        return config
    except ConfigError as error:
        print(format_problems(error.problems, path), file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None


_LOG_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
               "error": logging.ERROR}


def _setup_logging(level: str) -> None:
    logging.basicConfig(level=_LOG_LEVELS.get(level, logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def cmd_serve(args) -> int:
    from otel_ai_detect.service import Service

    config = _load(args.config)
    _setup_logging(config.telemetry.log_level)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if config.processor.workers > 1:  # a front and N worker processes (workers.py)
        from otel_ai_detect.workers import FrontService

        service = FrontService(config).start()
    else:
        service = Service(config).start()
    metrics_server = None
    if config.telemetry.metrics.enabled:
        from otel_ai_detect.telemetry import ProcessorMetrics

        metrics = ProcessorMetrics(service)
        metrics_server = metrics.serve(config.telemetry.metrics.endpoint)
        push = _start_metrics_push(metrics, config.telemetry.metrics)
    # Everything built so far (detectors, Presidio, spaCy) lives as long as the process:
    # keep it out of the garbage collector's full passes, which otherwise walk it all and
    # stall a request for tens of milliseconds.
    gc.freeze()
    heap.trim()  # and what start-up freed (Presidio, feed parsing) goes back to the OS
    logging.getLogger("otel_ai_detect").info(
        "otel-ai-detect %s listening: grpc %s, http %s, metrics %s", __version__,
        service.grpc_port or "off", service.http_port or "off",
        metrics_server.port if metrics_server is not None else "off")
    stop.wait()
    drained = service.shutdown(args.shutdown_timeout)
    if metrics_server is not None:
        metrics_server.stop()
        if push is not None:
            push.shutdown()
    return 0 if drained else 1


def _start_metrics_push(metrics, settings):
    """The optional OTLP push of the processor's own metrics; None when not configured."""
    if settings.otlp_endpoint is None:
        return None
    from otel_ai_detect.telemetry import start_otlp_push

    try:
        return start_otlp_push(metrics, settings.otlp_endpoint, protocol=settings.otlp_protocol,
                               interval=settings.otlp_interval)
    except ImportError:
        logging.getLogger("otel_ai_detect").error(
            "service.telemetry.metrics.otlp_endpoint needs the OpenTelemetry SDK: "
            "pip install 'otel-ai-detect[otlp-metrics]'; pushing no metrics")
        return None


def cmd_validate(args) -> int:
    from otel_ai_detect.config import validate_file

    problems = validate_file(args.config)
    if not problems:
        try:
            _load(args.config)
        except SystemExit:
            return EXIT_CONFIG
    if problems:
        print(format_problems(problems, args.config), file=sys.stderr)
        return EXIT_CONFIG
    print(f"{args.config}: valid")
    return 0


def cmd_scan(args) -> int:
    from otel_ai_detect.engine import Engine
    from otel_ai_detect.report import alert_rows, format_table
    from otel_ai_detect.scan import scan_files

    config = _load(args.config)
    engine = Engine(config)
    paths = [Path(p) for p in args.files]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"no such file: {', '.join(missing)}", file=sys.stderr)
        return EXIT_CONFIG
    output = open(args.output, "w", encoding="utf-8") if args.output else None
    done = [0]

    def progress(where: str) -> None:
        done[0] += 1
        if sys.stderr.isatty():
            print(f"\rscanned {done[0]} requests ({where})", end="", file=sys.stderr)

    try:
        result = scan_files(paths, engine, output, progress)
    finally:
        if output is not None:
            output.close()
    if sys.stderr.isatty():
        print(file=sys.stderr)
    rows = alert_rows(result.alerts)
    print(format_table(rows))
    print(f"\n{len(rows)} alerts in {result.spans} spans and {result.log_records} log records")
    for problem in result.problems:
        print(f"skipped {problem}", file=sys.stderr)
    return 1 if result.problems else 0


def cmd_demo(args) -> int:
    from otel_ai_detect.demo import run_demo

    return run_demo()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="otel-ai-detect",
        description="Threat detection for AI workloads inside an OpenTelemetry pipeline.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the OTLP processor")
    serve.add_argument("--config", help="YAML config (default: the embedded default)")
    serve.add_argument("--shutdown-timeout", type=float, default=10.0,
                       help="seconds to drain the queue on SIGTERM (default 10)")
    serve.set_defaults(run=cmd_serve)

    validate = commands.add_parser("validate", help="check a config; exit 2 listing every problem")
    validate.add_argument("--config", required=True)
    validate.set_defaults(run=cmd_validate)

    scan = commands.add_parser("scan", help="scan OTLP/JSON files offline and print the alerts")
    scan.add_argument("files", nargs="+")
    scan.add_argument("--config", help="YAML config for the detectors")
    scan.add_argument("--output", help="write the annotated OTLP/JSON (one request a line)")
    scan.set_defaults(run=cmd_scan)

    demo = commands.add_parser("demo", help="run the processor on realistic GenAI traffic")
    demo.set_defaults(run=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
