"""Strict YAML: one document of plain mappings, sequences and scalars, nothing clever.

Refused: duplicate keys (the last one would silently win), anchors and aliases (alias bombs,
hidden sharing), explicit tags (`!!python/...` and every other), merge keys, nesting deeper
than `MAX_DEPTH`, more than `MAX_NODES` nodes, integers beyond `MAX_INT_ABS`, non-finite floats
and keys that are not scalars. Only `true`/`false` are booleans: `yes`, `no`, `on` and `off`
stay strings (YAML 1.1 would turn `on:` into `True:`).
"""

from __future__ import annotations

import math
import os
from typing import Any

import yaml

from openbsi.inputs.errors import InputError
from openbsi.inputs.files import read_limited

MAX_DEPTH = 32
MAX_NODES = 100_000
MAX_INT_ABS = 10**15
_MAX_INT_CHARS = 24  # longer integer literals are refused before conversion
DEFAULT_MAX_BYTES = 1_000_000


def _where(mark: Any) -> str:
    return f"line {mark.line + 1}" if mark is not None else "document"


class _StrictLoader(yaml.SafeLoader):
    def __init__(self, text: str, source: str) -> None:
        super().__init__(text)
        self.source = source
        self.depth = 0
        self.nodes = 0

    def _refuse(self, mark: Any, problem: str, **extra: Any) -> InputError:
        return InputError(self.source, _where(mark), problem, **extra)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise self._refuse(event.start_mark, "aliases are not allowed", value=event.anchor)
        if getattr(event, "anchor", None) is not None:
            raise self._refuse(event.start_mark, "anchors are not allowed", value=event.anchor)
        tag = getattr(event, "tag", None)
        if tag not in (None, "!"):
            raise self._refuse(event.start_mark, "tags are not allowed", value=tag)
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self._refuse(event.start_mark, "too many nodes", limit=MAX_NODES)
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self._refuse(event.start_mark, "nested too deeply", limit=MAX_DEPTH)
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        if not isinstance(node, yaml.MappingNode):
            raise self._refuse(node.start_mark, "expected a mapping")
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self._refuse(key_node.start_mark, "merge keys (<<) are not allowed")
            if not isinstance(key_node, yaml.ScalarNode):
                raise self._refuse(key_node.start_mark, "a key must be a plain scalar")
            key = self.construct_object(key_node, deep=True)
            if key is None or not isinstance(key, str | int | float | bool):
                raise self._refuse(key_node.start_mark, "a key must be a string or a number")
            if key in result:
                raise self._refuse(key_node.start_mark, "duplicate key", value=key)
            result[key] = self.construct_object(value_node, deep=deep)
        return result

    def construct_yaml_map(self, node: Any) -> Any:
        yield self.construct_mapping(node, deep=True)

    def construct_yaml_int(self, node: Any) -> int:
        literal = str(node.value).replace("_", "")
        if len(literal) > _MAX_INT_CHARS:
            raise self._refuse(
                node.start_mark, "integer too long", limit=MAX_INT_ABS, value=literal
            )
        value = super().construct_yaml_int(node)
        if abs(value) > MAX_INT_ABS:
            raise self._refuse(node.start_mark, "integer too large", limit=MAX_INT_ABS, value=value)
        return value

    def construct_yaml_float(self, node: Any) -> float:
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise self._refuse(node.start_mark, "number must be finite", value=node.value)
        return value

    def construct_yaml_bool(self, node: Any) -> bool | str:
        text = str(node.value)
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        return text


_StrictLoader.add_constructor("tag:yaml.org,2002:map", _StrictLoader.construct_yaml_map)
_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)
_StrictLoader.add_constructor("tag:yaml.org,2002:float", _StrictLoader.construct_yaml_float)
_StrictLoader.add_constructor("tag:yaml.org,2002:bool", _StrictLoader.construct_yaml_bool)


def load_yaml(
    path_or_bytes: str | os.PathLike[str] | bytes,
    *,
    source: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Any:
    """Parse one strict YAML document from a file path or from bytes (see the module text)."""
    if isinstance(path_or_bytes, bytes):
        name = source or "<input>"
        if len(path_or_bytes) > max_bytes:
            raise InputError(
                name, "file", "is too large", limit=f"{max_bytes} bytes", value=len(path_or_bytes)
            )
        data = path_or_bytes
    else:
        name = source or str(path_or_bytes)
        data = read_limited(path_or_bytes, max_bytes=max_bytes, source=name)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputError(name, "file", "is not UTF-8 text", value=f"byte {error.start}") from None
    loader = None
    try:
        loader = _StrictLoader(text, name)
        return loader.get_single_data()
    except InputError:
        raise
    except yaml.MarkedYAMLError as error:
        problem = (error.problem or error.context or "malformed YAML").strip()
        raise InputError(name, _where(error.problem_mark), f"malformed YAML: {problem}") from None
    except yaml.YAMLError as error:
        raise InputError(name, "document", f"malformed YAML: {error}") from None
    except (ValueError, TypeError, OverflowError, RecursionError) as error:
        raise InputError(name, "document", f"unreadable value: {error}") from None
    finally:
        if loader is not None:
            loader.dispose()
