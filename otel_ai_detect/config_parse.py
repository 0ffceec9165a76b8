"""Generic readers for config values: each checks one value and names its key path.

A reader is `(value, path, problems) -> result`. When the value cannot be used it
adds one problem (`"<key path>: <what is wrong>"`) and returns `INVALID`, so the
caller keeps going and every problem is reported at once. `Section` composes
readers into a mapping reader that rejects unknown keys; `config.py` declares
the sections. `${env:NAME}` substitution and YAML loading (duplicate keys are
problems, syntax errors carry line and column) live here too: both are generic.
"""

from __future__ import annotations

import math
import os
import re
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import Any

import yaml

INVALID: Any = type("Invalid", (), {"__repr__": lambda self: "INVALID"})()
Reader = Callable[[Any, str, "Problems"], Any]


class Problems(list):
    """Every problem found so far, each `"<key path>: <message>"`."""

    def add(self, path: str, message: str) -> Any:
        self.append(f"{path or 'config'}: {message}")
        return INVALID


@dataclass(frozen=True, slots=True)
class FromEnv:
    """A value taken from an environment variable: its problems name the variable."""

    name: str
    value: Any


class EnvStr(str):
    """A string that was exactly one `${env:NAME}`: typed readers use its YAML reading
    (`"4"` -> 4, `"true"` -> True) as the Collector does; string readers use the text."""

    typed: Any


def join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def show(value: Any) -> str:
    """A value as a problem message quotes it: short, YAML-like, URL passwords masked."""
    value = typed(value)
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, str):
        text = re.sub(r"//[^/@\s]*@", "//***@", value)
        return '"' + (text if len(text) <= 60 else text[:57] + "...") + '"'
    return repr(value)


def typed(value: Any) -> Any:
    return value.typed if isinstance(value, EnvStr) else value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# --- scalar readers -------------------------------------------------------------------------


def _reader(wanted: str, accept: Callable[[Any], Any], *, as_text: bool = False) -> Reader:
    """A reader from `accept`, which returns the typed result or INVALID. Text readers see an
    `${env:...}` value as text; the others see its YAML reading."""

    def read(value: Any, path: str, problems: Problems) -> Any:
        result = accept(value if as_text else typed(value))
        if result is INVALID:
            return problems.add(path, f"must be {wanted}, got {show(value)}")
        return result

    return read


def boolean() -> Reader:
    return _reader("true or false", lambda v: v if isinstance(v, bool) else INVALID)


def integer(minimum: int) -> Reader:
    return _reader(f"an integer >= {minimum}", lambda v: (
        v if isinstance(v, int) and not isinstance(v, bool) and v >= minimum else INVALID))


def number(minimum: float, *, above: bool = False, maximum: float = math.inf) -> Reader:
    wanted = (f"between {minimum:g} and {maximum:g}" if maximum < math.inf
              else f"> {minimum:g}" if above else f">= {minimum:g}")

    def accept(v: Any) -> Any:
        ok = _is_number(v) and (v > minimum if above else v >= minimum) and v <= maximum
        return float(v) if ok else INVALID

    return _reader(f"a number {wanted}", accept)


def string() -> Reader:
    return _reader("a non-empty string",
                   lambda v: str(v) if isinstance(v, str) and v.strip() else INVALID, as_text=True)


def enum(*choices: str) -> Reader:
    return _reader(f"one of {', '.join(choices)}",
                   lambda v: str(v) if v in choices else INVALID, as_text=True)


def string_list(choices: tuple[str, ...] | None = None) -> Reader:
    """A list of strings (a tuple in the config), each one of `choices` when given."""
    wanted = f"a list of {', '.join(choices)}" if choices else "a list of strings"

    def accept(v: Any) -> Any:
        if not isinstance(v, (list, tuple)) or not all(isinstance(i, str) for i in v):
            return INVALID
        if choices is not None and any(i not in choices for i in v):
            return INVALID
        return tuple(v)

    return _reader(wanted, accept)


_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_PIECE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_DURATION = re.compile(rf"[+-]?(?:{_PIECE.pattern})+|[+-]?0")


def parse_duration(text: str) -> float | None:
    """Seconds from a Go duration (`250ms`, `1m30s`, `2h`), or None."""
    text = text.strip()
    if not _DURATION.fullmatch(text):
        return None
    seconds = sum(float(n) * _UNITS[unit] for n, unit in _PIECE.findall(text))
    return -seconds if text.startswith("-") else seconds


def duration(*, above_zero: bool = True) -> Reader:
    """A Go duration string or a plain number of seconds."""

    def accept(value: Any) -> Any:
        seconds = float(value) if _is_number(value) else None
        if isinstance(value, str):
            seconds = parse_duration(value)
        ok = seconds is not None and (seconds > 0 if above_zero else seconds >= 0)
        return seconds if ok else INVALID

    bound = "> 0" if above_zero else ">= 0"
    return _reader(f"a duration {bound} (like 250ms, 5s, 1m30s or a number of seconds)", accept)


# --- addresses and files --------------------------------------------------------------------

_HOSTNAME = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?")


def valid_host(host: str) -> bool:
    if host.startswith("[") and host.endswith("]"):
        try:
            IPv6Address(host[1:-1].split("%", 1)[0])
        except ValueError:
            return False
        return True
    return bool(_HOSTNAME.fullmatch(host))


def check_host_port(text: Any, path: str, problems: Problems, *, listen: bool) -> Any:
    """`host:port`, IPv6 in brackets. To listen, port 0 (any free port) and `:port` (every
    interface) are allowed as in the Collector; to connect, a host and port 1-65535 are needed."""
    lowest = 0 if listen else 1
    if isinstance(text, str):
        host, sep, port = text.strip().rpartition(":")
        host_ok = valid_host(host) or (listen and host == "")
        if sep and host_ok and port.isascii() and port.isdigit() and lowest <= int(port) <= 65535:
            return f"{host}:{int(port)}"
    return problems.add(path, f"must be host:port with a port {lowest}-65535, got {show(text)}")


def listen_address() -> Reader:
    return lambda value, path, problems: check_host_port(value, path, problems, listen=True)


def check_url(text: str, path: str, problems: Problems) -> Any:
    """An http:// or https:// URL with a valid host and port."""
    parts = urllib.parse.urlsplit(text.strip())
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    host = parts.hostname or ""
    host_ok = valid_host(host) or valid_host(f"[{host}]")
    if parts.scheme in ("http", "https") and port_ok and host_ok:
        return text.strip().rstrip("/")  # a base URL: the exporter appends /v1/traces
    return problems.add(path, f"must be an http:// or https:// URL with a host, got {show(text)}")


def file_path(*, exists: bool = True) -> Reader:
    """A path, relative to the working directory, to a file that exists now (`exists`),
    or to a file to create or append to, whose directory exists."""

    def read(value: Any, path: str, problems: Problems) -> Any:
        if not (isinstance(value, str) and value.strip()):
            return problems.add(path, f"must be a file path, got {show(value)}")
        if exists and not os.path.isfile(value):
            return problems.add(path, f"file not found: {show(value)}")
        if not exists and not os.path.isdir(os.path.dirname(value) or "."):
            return problems.add(path, f"directory does not exist for {show(value)}")
        return str(value)

    return read


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def headers() -> Reader:
    """name -> value pairs. Values may be API keys: no problem message ever shows one."""

    def read(value: Any, path: str, problems: Problems) -> Any:
        if not isinstance(value, Mapping):
            return problems.add(path, "must be a mapping of header names to values")
        pairs: list[tuple[str, str]] = []
        for name, text in value.items():
            where = join(path, name)
            if text is INVALID:  # an unset ${env:NAME}, already reported
                pass
            elif not (isinstance(name, str) and _TOKEN.fullmatch(name)):
                problems.add(where, "is not a valid header name")
            elif isinstance(text, bool) or not isinstance(text, (str, int, float)):
                problems.add(where, "header value must be a string (value not shown)")
            elif any(c in str(text) for c in "\r\n\0"):
                problems.add(where, "header value has a line break (value not shown)")
            else:
                pairs.append((name, str(text)))
        return INVALID if len(pairs) < len(value) else tuple(pairs)

    return read


# --- composition ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Optional:
    """`null` (or an env reference that reads as null) means None; else the inner reader."""

    inner: Reader

    def __call__(self, value: Any, path: str, problems: Problems) -> Any:
        return None if typed(value) is None else self.inner(value, path, problems)


Check = Callable[[dict, Mapping, str, Problems], None]


@dataclass(frozen=True)
class Section:
    """A mapping with known keys. `null` or `{}` means defaults; unknown keys are problems.

    `build` turns the valid values (by YAML key) into the typed result; `check`
    sees them with the raw mapping for rules that span keys, and may adjust them.
    """

    fields: Mapping[str, Reader]
    build: Callable[[dict], Any]
    check: Check | None = None

    def __call__(self, value: Any, path: str, problems: Problems) -> Any:
        raw = {} if value is None else value
        if not isinstance(raw, Mapping):
            keys = ", ".join(self.fields)
            return problems.add(path, f"must be a mapping with keys {keys}, got {show(value)}")
        values: dict[str, Any] = {}
        for key, item in raw.items():
            reader = self.fields.get(key) if isinstance(key, str) else None
            if reader is None:
                problems.add(join(path, key), "unknown key")
                continue
            where = join(path, key)
            if isinstance(item, FromEnv):
                where, item = item.name, item.value
            result = INVALID if item is INVALID else reader(item, where, problems)
            if result is not INVALID:
                values[key] = result
        if self.check is not None:
            self.check(values, raw, path, problems)
        return self.build(values)

    def default(self) -> Any:
        return self.build({})


@dataclass(frozen=True)
class SectionList:
    """A list of `inner` sections (`feeds: [{source: ...}, ...]`), as a tuple."""

    inner: Section

    def __call__(self, value: Any, path: str, problems: Problems) -> Any:
        if typed(value) is None:
            return ()
        if not isinstance(value, (list, tuple)):
            return problems.add(path, f"must be a list, got {show(value)}")
        items = [self.inner(item, f"{path}[{index}]", problems) for index, item in enumerate(value)]
        return INVALID if any(item is INVALID for item in items) else tuple(items)


def into(cls: type, **rename: str) -> Callable[[dict], Any]:
    """A `build` for a dataclass whose field names are the YAML keys (or renamed)."""
    return lambda values: cls(**{rename.get(k, k): v for k, v in values.items()})


def only(key: str, inner: Section) -> Section:
    """A wrapper mapping with one key (`service: {telemetry: ...}`) that yields the inner result."""
    return Section({key: inner}, lambda values: values[key] if key in values else inner.default())


def label(raw: Mapping, key: str, path: str) -> str:
    """The name problems about `raw[key]` use: its key path, or its environment variable."""
    item = raw.get(key)
    return item.name if isinstance(item, FromEnv) else join(path, key)


def leaf_paths(reader: Any, path: str = "") -> Iterator[str]:
    """Every settable key path under a reader (for docs and their tests)."""
    reader = reader.inner if isinstance(reader, Optional) else reader
    if isinstance(reader, SectionList):  # the list itself, then its items' keys
        yield path
        reader = reader.inner
    if isinstance(reader, Section):
        for key, inner in reader.fields.items():
            yield from leaf_paths(inner, join(path, key))
    else:
        yield path


# --- ${env:NAME} substitution ---------------------------------------------------------------

_REFERENCE = re.compile(r"\$\$|\$\{([^{}]*)\}")
_NAME = re.compile(r"(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", re.S)


def substitute(node: Any, path: str, env: Mapping[str, str], problems: Problems) -> Any:
    """A copy of `node` with `${env:NAME}`, `${NAME}` and `${env:NAME:-default}` replaced
    in string values (not keys); `$$` is a literal `$`. An unset name without a default is
    a problem, and the value becomes INVALID so its reader stays quiet."""
    if isinstance(node, Mapping):
        return {k: substitute(v, join(path, k), env, problems) for k, v in node.items()}
    if isinstance(node, list):
        return [substitute(v, join(path, i), env, problems) for i, v in enumerate(node)]
    if not isinstance(node, str) or "$" not in node:
        return node
    failed = False

    def replace(match: re.Match) -> str:
        nonlocal failed
        if match.group(0) == "$$":
            return "$"
        ref = _NAME.fullmatch(match.group(1))
        if ref is None:
            failed = True
            problems.add(path, "unsupported reference: use ${env:NAME} or ${env:NAME:-default}"
                         " ($$ is a literal $)")
            return ""
        name, fallback = ref.groups()
        if name in env:
            return env[name]
        if fallback is not None:
            return fallback
        failed = True
        hint = f"(use ${{env:{name}:-default}} for a default)"
        problems.add(path, f"environment variable {name} is not set {hint}")
        return ""

    text = _REFERENCE.sub(replace, node)
    if failed:
        return INVALID
    whole = _REFERENCE.fullmatch(node)
    if whole is None or whole.group(0) == "$$":
        return text
    result = EnvStr(text)
    try:
        parsed = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        parsed = text
    result.typed = parsed if parsed is None or isinstance(parsed, (str, int, float, bool)) else text
    return result


# --- YAML ------------------------------------------------------------------------------------


def _check_nodes(node: yaml.Node, path: str, problems: Problems, done: set, open_: set) -> bool:
    """Report duplicate keys (PyYAML keeps the last silently; the Collector refuses them) and
    recursive aliases. False when the document contains itself and cannot be used."""
    if id(node) in open_:
        problems.add(path, "recursive alias: a value cannot contain itself")
        return False
    if id(node) in done:
        return True
    open_.add(id(node))
    children: list[tuple[str, yaml.Node]] = []
    if isinstance(node, yaml.MappingNode):
        keys: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                if key.value in keys:
                    line = key.start_mark.line + 1
                    problems.add(join(path, key.value), f"duplicate key (line {line})")
                keys.add(key.value)
            children.append((join(path, getattr(key, "value", "?")), value))
    elif isinstance(node, yaml.SequenceNode):
        children = [(join(path, index), item) for index, item in enumerate(node.value)]
    usable = all([_check_nodes(child, where, problems, done, open_) for where, child in children])
    open_.discard(id(node))
    done.add(id(node))
    return usable


def load_yaml(text: str, problems: Problems) -> Any:
    """The data in one YAML document, or INVALID after a syntax error (with line and column)."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _check_nodes(node, "", problems, set(), set()):
            return loader.construct_document(node)
    except yaml.MarkedYAMLError as error:  # no snippet of the line: it may hold a secret
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "yaml"
        start, context = error.context_mark, ""
        if error.problem and error.context and start:
            context = f" ({error.context} at line {start.line + 1})"
        problems.append(f"{where}: {error.problem or error.context}{context}")
    except yaml.YAMLError as error:
        problems.append(f"yaml: {error}")
    except RecursionError:
        problems.append("yaml: nested too deeply")
    finally:
        loader.dispose()
    return INVALID
