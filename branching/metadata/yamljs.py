"""YAML read as the `yaml` npm package reads it, written back as `JSON.stringify` writes it.

source-deploy-retrieve's decomposed external service registrations
(`decomposeExternalServiceRegistrationBeta`) keep a registration's OpenAPI schema in a
`Name.yaml` file beside it. When the registration says its schema is JSON
(`<schemaUploadFileExtension>json</schemaUploadFileExtension>`), SDR puts it back as
`JSON.stringify(yaml.parse(text), undefined, 2)` (yaml 2.x, its default YAML 1.2 core
schema). `to_json` reproduces that byte for byte:

- scalars are resolved with the YAML 1.2 core schema, not PyYAML's YAML 1.1 one: `yes`,
  `on` and `2024-01-31` stay strings, `010` is ten, `0o17` and `0x1F` are numbers, `<<` is an
  ordinary key (no merge);
- numbers are JavaScript numbers (doubles): `1.50` is written `1.5`, `1e6` `1000000`,
  `0.0000001` `1e-7`; `.inf` and `.nan` become `null`, as JSON.stringify makes them;
- keys are strings, and an object lists its integer-like keys (`200`, `404`) first in
  ascending order, then the others in the order written, as JavaScript objects do;
- a key given twice is an error, as in `yaml` ("Map keys must be unique").

PyYAML's parser builds the node tree; only the resolution and construction are ours.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

STR = "tag:yaml.org,2002:str"
NULL = "tag:yaml.org,2002:null"
BOOL = "tag:yaml.org,2002:bool"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
_MAX_INDEX = 2**32 - 1


class YamlError(ValueError):
    """The text is not YAML the `yaml` package would read."""


class _CoreResolver(yaml.resolver.BaseResolver):
    """YAML 1.2's core schema (yaml 2.x: dist/schema/core, common/null.js)."""


# (tag, regular expression, first characters) as in yaml's schema/core/*.js tests.
_CORE = (
    (NULL, r"(?:~|[Nn]ull|NULL)?", ["", "~", "n", "N"]),
    (BOOL, r"(?:[Tt]rue|TRUE|[Ff]alse|FALSE)", list("tTfF")),
    (INT, r"0o[0-7]+", ["0"]),
    (INT, r"[-+]?[0-9]+", list("-+0123456789")),
    (INT, r"0x[0-9a-fA-F]+", ["0"]),
    (FLOAT, r"(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)", list("-+.")),
    (FLOAT, r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+", list("-+.0123456789")),
    (FLOAT, r"[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)", list("-+.0123456789")),
)
for _tag, _pattern, _first in _CORE:
    _CoreResolver.add_implicit_resolver(_tag, re.compile(rf"^{_pattern}\Z"), _first)


class _Loader(
    yaml.reader.Reader,
    yaml.scanner.Scanner,
    yaml.parser.Parser,
    yaml.composer.Composer,
    _CoreResolver,
):
    """PyYAML's reader, scanner, parser and composer, with the core schema's resolution."""

    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _CoreResolver.__init__(self)


def parse(text: str) -> Any:
    """What `yaml.parse(text)` returns, as Python values (dicts keep JavaScript's key order;
    every number is a float, as JavaScript's are)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as error:
        raise YamlError(str(error)) from error
    finally:
        loader.dispose()
    return None if node is None else _value(node, 0)


def _value(node: Node, depth: int) -> Any:
    if depth > 1000:
        raise YamlError("The YAML nests too deeply.")
    if isinstance(node, ScalarNode):
        return _scalar(node)
    if isinstance(node, SequenceNode):
        return [_value(item, depth + 1) for item in node.value]
    if isinstance(node, MappingNode):
        found: dict[str, Any] = {}
        seen: set[tuple[type, Any]] = set()
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise YamlError("A mapping key that is not a scalar is not supported.")
            key = _scalar(key_node)
            identity = (type(key), key)  # yaml compares parsed keys with ===: 1 and 01 clash
            if identity in seen:
                raise YamlError(f"Map keys must be unique (“{key_node.value}”).")
            if key == key:  # NaN equals nothing
                seen.add(identity)
            found[_key(key)] = _value(value_node, depth + 1)
        return _js_ordered(found)
    raise YamlError("Unknown YAML node.")


def _scalar(node: ScalarNode) -> Any:
    text, tag = node.value, node.tag
    if tag == NULL:
        return None
    if tag == BOOL:
        return text in ("true", "True", "TRUE")
    if tag == INT:
        if text.startswith("0o"):
            return float(int(text[2:], 8))
        if text.startswith("0x"):
            return float(int(text[2:], 16))
        return float(int(text))
    if tag == FLOAT:
        lowered = text.lower()
        if lowered.endswith("nan"):
            return float("nan")
        if lowered.endswith("inf"):
            return float("-inf") if text.startswith("-") else float("inf")
        return float(text)
    return text  # strings, and tags `yaml` does not know (it keeps their text)


def _key(value: Any) -> str:
    """JavaScript's property key for a parsed scalar (`String(value)`, null → "")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return js_number(value)
    return str(value)


def _is_index(key: str) -> bool:
    return key.isdigit() and key.isascii() and str(int(key)) == key and int(key) < _MAX_INDEX


def _js_ordered(found: dict[str, Any]) -> dict[str, Any]:
    indices = sorted((k for k in found if _is_index(k)), key=int)
    if not indices:
        return found
    ordered = {k: found[k] for k in indices}
    ordered.update((k, v) for k, v in found.items() if k not in ordered)
    return ordered


def js_number(value: float) -> str:
    """ECMAScript's Number::toString for a finite double."""
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("not a finite number")
    if value == 0:
        return "0"
    if value < 0:
        return "-" + js_number(-value)
    sign, digits_tuple, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    digits = "".join(map(str, digits_tuple))
    k = len(digits)
    n = exponent + k  # value = 0.digits × 10^n
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return f"{digits[:n]}.{digits[n:]}"
    if -6 < n <= 0:
        return "0." + "0" * -n + digits
    mantissa = digits if k == 1 else f"{digits[0]}.{digits[1:]}"
    return f"{mantissa}e{'+' if n - 1 >= 0 else '-'}{abs(n - 1)}"


def stringify(value: Any, indent: str = "  ", level: str = "") -> str:
    """`JSON.stringify(value, undefined, 2)` for what `parse` returns."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        finite = value == value and value not in (float("inf"), float("-inf"))
        return js_number(value) if finite else "null"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    inner = level + indent
    if isinstance(value, list):
        if not value:
            return "[]"
        items = ",\n".join(inner + stringify(item, indent, inner) for item in value)
        return f"[\n{items}\n{level}]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = ",\n".join(
            f"{inner}{json.dumps(key, ensure_ascii=False)}: {stringify(item, indent, inner)}"
            for key, item in value.items()
        )
        return f"{{\n{items}\n{level}}}"
    raise TypeError(f"Cannot write {type(value).__name__} as JSON.")


def to_json(text: str) -> str:
    """SDR's `JSON.stringify(yaml.parse(text), undefined, 2)`."""
    return stringify(parse(text))


__all__ = ["YamlError", "js_number", "parse", "stringify", "to_json"]
