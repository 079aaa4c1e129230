"""Hardened reading of every file a user hands OpenBSI: bounded bytes, strict YAML, checked fields.

Each kind of file has one loader built on these pieces; a failure is an `InputError` whose text
is one line naming the file, the field, the limit and the value.
"""

from openbsi.inputs.errors import InputError
from openbsi.inputs.fields import mapping, number, sequence, string
from openbsi.inputs.files import check_file, read_limited
from openbsi.inputs.yaml_strict import load_yaml

__all__ = [
    "InputError",
    "check_file",
    "load_yaml",
    "mapping",
    "number",
    "read_limited",
    "sequence",
    "string",
]
