"""Metadata XML read and written the way the reference tools do, byte for byte.

Why not ElementTree or lxml: source-deploy-retrieve (SDR) and sfdx-git-delta (sgd) both go
through fast-xml-parser, which turns a document into a JavaScript object and back. That round
trip is not neutral, and teams diff what we produce against what `sf project convert source`
produces, so it is reproduced exactly:

- repeated elements are grouped at the position of their first occurrence
  (`<a/><b/><a/>` comes back as `<a/><a/><b/>`);
- text is trimmed, whitespace-only text disappears, empty elements become `<x></x>`;
- SDR decodes the five named entities when reading and escapes `& < > ' "` when writing
  (so `'` comes back as `&apos;`), while numeric references such as `&#160;` pass through;
- sgd neither decodes nor escapes (it copies text through untouched).

A document is a plain `dict` (insertion-ordered, like a JavaScript object): element name →
`str` (text-only element), `dict` (element with children and/or attributes) or `list` of
those (repeated element). Attributes are keys prefixed with `@_`, text beside children or
attributes is under `#text`, comments under the dialect's comment key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
METADATA_NS = "http://soap.sforce.com/2006/04/metadata"
ATTR = "@_"
TEXT = "#text"


@dataclass(frozen=True)
class Dialect:
    """The fast-xml-parser options one reference tool uses."""

    comment_key: str
    cdata_key: str | None
    entities: bool  # decode named entities on read, escape on write
    keep_declaration: bool


# SDR: lib/src/utils/metadata.js (parser) and lib/src/convert/streams.js (JsToXml builder).
SDR = Dialect(
    comment_key="#xml__comment", cdata_key="__cdata", entities=True, keep_declaration=False
)
# sgd: lib/utils/fxpHelper.js (both directions).
SGD = Dialect(comment_key="#comment", cdata_key=None, entities=False, keep_declaration=True)


class XmlError(ValueError):
    """The file is not XML the reference tools could read."""


_NAME = r"[^\s/>=]+"
_ATTRIBUTE = re.compile(r"""([^\s=/]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.S)
_NAMED_ENTITIES = (("&apos;", "'"), ("&gt;", ">"), ("&lt;", "<"), ("&quot;", '"'))
_ESCAPES = (("&", "&amp;"), (">", "&gt;"), ("<", "&lt;"), ("'", "&apos;"), ('"', "&quot;"))


class _Node:
    __slots__ = ("name", "attributes", "children")

    def __init__(self, name: str, attributes: dict[str, str] | None = None) -> None:
        self.name = name
        self.attributes = attributes
        # (key, value): value is a _Node, or a str for text / comment / cdata entries
        self.children: list[tuple[str, _Node | str]] = []


def _decode(text: str, dialect: Dialect) -> str:
    if not dialect.entities or "&" not in text:
        return text
    for entity, char in _NAMED_ENTITIES:
        text = text.replace(entity, char)
    return text.replace("&amp;", "&")


def parse(data: bytes | str, dialect: Dialect = SDR) -> dict[str, Any]:
    """The JavaScript object fast-xml-parser would make of `data`."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    root = _Node("!root")
    stack = [root]
    pending = ""
    pos = 0
    length = len(text)

    def flush() -> None:
        nonlocal pending
        if pending:
            value = pending.strip()
            if value:
                stack[-1].children.append((TEXT, _decode(value, dialect)))
            pending = ""

    while pos < length:
        lt = text.find("<", pos)
        if lt < 0:
            pending += text[pos:]
            break
        pending += text[pos:lt]
        if text.startswith("<!--", lt):
            end = text.find("-->", lt + 4)
            if end < 0:
                raise XmlError("Unclosed comment.")
            flush()
            stack[-1].children.append((dialect.comment_key, text[lt + 4 : end]))
            pos = end + 3
        elif text.startswith("<![CDATA[", lt):
            end = text.find("]]>", lt + 9)
            if end < 0:
                raise XmlError("Unclosed CDATA section.")
            content = text[lt + 9 : end]
            if dialect.cdata_key:
                flush()
                stack[-1].children.append((dialect.cdata_key, content))
            else:
                pending += content
            pos = end + 3
        elif text.startswith("<?", lt):
            end = text.find("?>", lt + 2)
            if end < 0:
                raise XmlError("Unclosed processing instruction.")
            flush()
            body = text[lt + 2 : end]
            target = re.match(_NAME, body)
            if target and target.group(0) == "xml" and dialect.keep_declaration:
                pi = _Node("?xml", _attributes(body[3:], dialect))
                stack[-1].children.append(("?xml", pi))
            pos = end + 2
        elif text.startswith("<!", lt):
            end = text.find(">", lt + 2)
            if end < 0:
                raise XmlError("Unclosed declaration.")
            pos = end + 1
        elif text.startswith("</", lt):
            end = text.find(">", lt + 2)
            if end < 0:
                raise XmlError("Unclosed end tag.")
            closing = text[lt + 2 : end].strip()
            flush()
            if len(stack) < 2 or stack[-1].name != closing:
                raise XmlError(f"Unexpected end tag </{closing}>.")
            stack.pop()
            pos = end + 1
        else:
            end = _tag_end(text, lt + 1)
            body = text[lt + 1 : end]
            self_closing = body.endswith("/")
            if self_closing:
                body = body[:-1]
            match = re.match(_NAME, body)
            if not match:
                raise XmlError(f"Bad tag at offset {lt}.")
            flush()
            node = _Node(match.group(0), _attributes(body[match.end() :], dialect))
            stack[-1].children.append((node.name, node))
            if not self_closing:
                stack.append(node)
            pos = end + 1
    flush()
    if len(stack) != 1:
        raise XmlError(f"Unclosed element <{stack[-1].name}>.")
    return _compress(root)


def _tag_end(text: str, pos: int) -> int:
    quote = ""
    for index in range(pos, len(text)):
        char = text[index]
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == ">":
            return index
    raise XmlError("Unclosed tag.")


def _attributes(raw: str, dialect: Dialect) -> dict[str, str] | None:
    found = {
        ATTR + m.group(1): _decode(m.group(2) if m.group(2) is not None else m.group(3), dialect)
        for m in _ATTRIBUTE.finditer(raw)
    }
    return found or None


def _compress(node: _Node) -> dict[str, Any]:
    """fast-xml-parser's node2json `compress`."""
    out: dict[str, Any] = {}
    text: str | None = None
    for key, child in node.children:
        if key == TEXT:
            assert isinstance(child, str)
            text = child if text is None else text + child
            continue
        value: Any
        if isinstance(child, str):  # comment or cdata: a node holding one text child
            value = child
        else:
            value = _compress(child)
            if child.attributes:
                value.update(child.attributes)
            elif len(value) == 1 and TEXT in value:
                value = value[TEXT]
            elif not value:
                value = ""
        if key in out:
            existing = out[key]
            if not isinstance(existing, list):
                out[key] = [existing]
            out[key].append(value)
        else:
            out[key] = value
    if text:
        out[TEXT] = text
    return out


# --------------------------------------------------------------------------- building


def build(document: dict[str, Any], dialect: Dialect = SDR) -> str:
    """fast-xml-parser's XMLBuilder output (format, 4-space indent) for `document`."""
    return _children(document, 0, dialect)[1]


def _escape(text: str, dialect: Dialect) -> str:
    if not dialect.entities:
        return text
    for char, entity in _ESCAPES:
        text = text.replace(char, entity)
    return text


def _children(obj: dict[str, Any], level: int, dialect: Dialect) -> tuple[str, str]:
    attrs = ""
    out: list[str] = []
    for key, value in obj.items():
        if value is None:
            continue
        if isinstance(value, list):
            for item in value:
                if item is None:
                    continue
                if isinstance(item, dict):
                    out.append(_object(item, key, level, dialect))
                else:
                    out.append(_text_node(str(item), key, "", level, dialect))
        elif isinstance(value, dict):
            out.append(_object(value, key, level, dialect))
        elif key.startswith(ATTR):
            attrs += f' {key[len(ATTR) :]}="{_escape(str(value), dialect)}"'
        elif key == TEXT:
            out.append(_escape(str(value), dialect))
        else:
            out.append(_text_node(str(value), key, "", level, dialect))
    return attrs, "".join(out)


def _indent(level: int) -> str:
    return "    " * level


def _object(obj: dict[str, Any], key: str, level: int, dialect: Dialect) -> str:
    attrs, val = _children(obj, level + 1, dialect)
    if TEXT in obj and len(obj) == 1:
        return _text_node(str(obj[TEXT]), key, attrs, level, dialect)
    if val == "":
        if key.startswith("?"):
            return f"{_indent(level)}<{key}{attrs}?>\n"
        return f"{_indent(level)}<{key}{attrs}></{key}>\n"
    closing = f"</{key}>\n"
    pi_close = ""
    if key.startswith("?"):
        pi_close, closing = "?", ""
    if "<" not in val:
        return f"{_indent(level)}<{key}{attrs}{pi_close}>{val}{closing}"
    if key == dialect.comment_key and not pi_close:
        return f"{_indent(level)}<!--{val}-->\n"
    return f"{_indent(level)}<{key}{attrs}{pi_close}>\n{val}{_indent(level)}{closing}"


def _text_node(value: str, key: str, attrs: str, level: int, dialect: Dialect) -> str:
    if dialect.cdata_key and key == dialect.cdata_key:
        return f"{_indent(level)}<![CDATA[{value}]]>\n"
    if key == dialect.comment_key:
        return f"{_indent(level)}<!--{value}-->\n"
    if key.startswith("?"):
        return f"{_indent(level)}<{key}{attrs}?>\n"
    text = _escape(value, dialect)
    if text == "":
        return f"{_indent(level)}<{key}{attrs}></{key}>\n"
    return f"{_indent(level)}<{key}{attrs}>{text}</{key}>\n"


_SPECIAL_ENTITY = re.compile(r"&amp;#(x?[\da-fA-F]+);")
# SDR's correctComments: `/\s+<!--(.*?)-->\s+/g`, with JavaScript's meaning of `\s` and of
# `.` (anything but a line terminator), so a comment spanning lines keeps its own line.
_JS_SPACE = "\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
_COMMENT_SPACE = re.compile(f"[{_JS_SPACE}]+<!--([^\n\r\u2028\u2029]*?)-->[{_JS_SPACE}]+")


def sdr_document(document: dict[str, Any]) -> bytes:
    """What SDR's JsToXml writes for `document`: declaration, body, its two fix-ups."""
    xml = XML_DECLARATION + _SPECIAL_ENTITY.sub(r"&#\1;", build(document, SDR))
    if "<!--" in xml:
        xml = _COMMENT_SPACE.sub(r"<!--\1-->", xml)
    return xml.encode()


def sgd_document(document: dict[str, Any]) -> bytes:
    """What sgd writes for a pruned document (its declaration is part of the document)."""
    return build(document, SGD).encode()
