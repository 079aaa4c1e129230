"""The one error every input loader raises."""

from __future__ import annotations

from typing import Any

_VALUE_CHARS = 60  # a hostile value is shown shortened, never in full


def _short(value: Any) -> str:
    text = repr(value)
    if len(text) > _VALUE_CHARS:
        text = text[: _VALUE_CHARS - 3] + "..."
    return text.replace("\n", "\\n")


class InputError(ValueError):
    """Bad input: `<source>: <field>: <problem> (limit <limit>, got <value>)`, on one line."""

    def __init__(
        self,
        source: str,
        field: str,
        problem: str,
        *,
        limit: Any = None,
        value: Any = None,
    ) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        self.limit = limit
        self.value = value
        details = []
        if limit is not None:
            details.append(f"limit {limit}")
        if value is not None:
            details.append(f"got {_short(value)}")
        tail = f" ({', '.join(details)})" if details else ""
        text = f"{source}: {field}: {problem}{tail}"
        super().__init__(" ".join(text.split()))
