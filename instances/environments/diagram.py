"""The pipeline diagram: instances and their parents drawn by Graphviz as inline SVG.

Every piece of user text reaches `dot` escaped (HTML-like labels for node text, quoted strings
for tooltips), and the SVG that comes back is checked before it is inlined into a page. An
unchanged pipeline is never laid out twice: the SVG is cached under a hash of its DOT source,
which holds the hierarchy only. What is happening at each instance (running, queued, awaiting
approval, failed, ready to promote) is written into room kept for it in the laid-out SVG on
every render, so a state change never makes Graphviz lay the pipeline out again.
"""

from __future__ import annotations

import hashlib
import html
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from instances.models import Instance, OrgType, Purpose

if TYPE_CHECKING:
    from instances.environments.live import PipelineStates

CACHE_PREFIX = "pipeline-svg:v2:"
CACHE_SECONDS = 30 * 24 * 3600
DOT_TIMEOUT_SECONDS = 60

# Fill and border colour by purpose: cool colours low in the pipeline, warm ones near production.
PURPOSE_COLOURS: dict[str, tuple[str, str]] = {
    Purpose.DEVELOPMENT: ("#e0f2fe", "#0369a1"),
    Purpose.INTEGRATION: ("#e0e7ff", "#4338ca"),
    Purpose.QA: ("#ecfccb", "#4d7c0f"),
    Purpose.UAT: ("#fef9c3", "#a16207"),
    Purpose.STAGING: ("#ffedd5", "#c2410c"),
    Purpose.PRODUCTION: ("#fee2e2", "#b91c1c"),
    Purpose.HOTFIX: ("#fce7f3", "#be185d"),
}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_FORBIDDEN_SVG_TAGS = {"script", "foreignObject", "iframe", "object", "embed", "handler"}


class DiagramUnavailable(Exception):
    """The diagram cannot be drawn here; the page shows the hierarchy as a tree instead."""


class DotMissing(DiagramUnavailable):
    pass


def _one_line(text: str) -> str:
    return _CONTROL.sub(" ", text).strip()


def html_label_text(text: str) -> str:
    """Text for inside a Graphviz HTML-like label: one line, XML-escaped."""
    return html.escape(_one_line(text), quote=True)


def dot_string(text: str) -> str:
    """A double-quoted DOT string whose escapes (\\N, \\G, \\l…) Graphviz will not expand."""
    return '"' + _one_line(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class Node:
    instance: Instance
    external: bool  # a parent from another repository on the same storage


def nodes_for(repository_instances: Sequence[Instance], by_id: dict[int, Instance]) -> list[Node]:
    """The repository's instances, plus parents that live in another repository."""
    own = {i.pk for i in repository_instances}
    nodes = [Node(i, external=False) for i in repository_instances]
    extra: dict[int, Instance] = {}
    for instance in repository_instances:
        if instance.parent_id and instance.parent_id not in own:
            parent = by_id.get(instance.parent_id)
            if parent is not None:
                extra[parent.pk] = parent
    nodes.extend(Node(p, external=True) for p in sorted(extra.values(), key=lambda p: p.name))
    return nodes


# Room kept in every node label (two lines) and on every edge for what is happening there: the
# layout never depends on it, so it is made once per hierarchy and states are written into it.
STATE_RESERVE = "0" * 30
EDGE_RESERVE = "00 ready"
STATE_MAX_CHARS = 40
_MARK = "\x01"  # never in a label: `_one_line` removes control characters from user text


def build_dot(graph_id: str, nodes: Iterable[Node]) -> str:
    """DOT source for one repository's pipeline; edges go from child to parent.

    Only the hierarchy goes in: every node keeps two lines and every edge a label's room for
    the live state that `overlay` writes into the laid-out SVG.
    """
    nodes = list(nodes)
    by_pk = {n.instance.pk: n.instance for n in nodes}
    present = set(by_pk)
    lines = [
        "digraph pipeline {",
        f"  graph [id={dot_string(graph_id)}, rankdir=LR, bgcolor=transparent, "
        'fontname="Helvetica", nodesep=0.18, ranksep=0.55, pad=0.1];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=11, '
        'margin="0.14,0.05", penwidth=1.2];',
        '  edge [color="#64748b", arrowsize=0.7, penwidth=1.1];',
    ]
    stagger = _stagger(nodes)
    reserve = f'<br/><font point-size="9">{STATE_RESERVE}</font>' * 2
    for node in nodes:
        instance = node.instance
        fill, border = PURPOSE_COLOURS.get(instance.purpose, ("#f1f5f9", "#475569"))
        details = f"{instance.branch} · {OrgType(instance.org_type).label}"
        label = (
            f"<<b>{html_label_text(instance.name)}</b><br/>"
            f'<font point-size="9">{html_label_text(details)}</font>'
            + ("" if node.external else reserve)
            + ">"
        )
        tooltip = f"{instance.name} ({instance.get_purpose_display()})"
        # A parent borrowed from another repository is drawn in that repository's diagram too;
        # its id must not repeat on the page.
        node_id = f"{graph_id}-parent-{instance.pk}" if node.external else f"instance-{instance.pk}"
        attrs = [
            f"id={dot_string(node_id)}",
            f"label={label}",
            f"URL={dot_string(reverse('instance_detail', args=[instance.pk]))}",
            'target="_top"',
            f"tooltip={dot_string(tooltip)}",
            f'fillcolor="{fill}"',
            f'color="{border}"',
            f'class="node-{instance.purpose}"',
        ]
        if node.external:
            attrs += ['style="rounded,dashed,filled"', 'fillcolor="#ffffff"']
        elif instance.is_production:
            attrs += ["penwidth=2.6", "peripheries=2", "fontsize=13"]
        lines.append(f"  i{instance.pk} [{', '.join(attrs)}];")
    for node in nodes:
        child, parent_id = node.instance, node.instance.parent_id
        if node.external or parent_id not in present:
            continue
        parent = by_pk[parent_id]
        url = reverse("instance_detail", args=[child.pk]) + "#ready-to-promote"
        tip = f"Features ready to promote from {child.name} to {parent.name}"
        edge = [
            f"id={dot_string(f'edge-{child.pk}-{parent_id}')}",
            f"label={dot_string(EDGE_RESERVE)}",
            f"tooltip={dot_string(tip)}",
            f"URL={dot_string(url)}",
            'target="_top"',
            "fontsize=9",
            'fontname="Helvetica"',
            'fontcolor="#1d4ed8"',
        ]
        if (minlen := stagger.get(child.pk, 1)) > 1:
            edge.append(f"minlen={minlen}")
        lines.append(f"  i{child.pk} -> i{parent_id} [{', '.join(edge)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


# A parent with more leaf children than this gets them in STAGGER_COLUMNS columns instead of one
# tall column, as Graphviz's `unflatten -l` does: hundreds of developer sandboxes stay readable.
STAGGER_AT = 6
STAGGER_COLUMNS = 3


def _stagger(nodes: Sequence[Node]) -> dict[int, int]:
    """minlen per child→parent edge: leaves of a crowded parent spread over a few columns."""
    own = [n.instance for n in nodes if not n.external]
    parents = {i.parent_id for i in own}
    leaves: dict[int, list[Instance]] = defaultdict(list)
    for instance in own:
        if instance.parent_id is not None and instance.pk not in parents:
            leaves[instance.parent_id].append(instance)
    minlen: dict[int, int] = {}
    for siblings in leaves.values():
        if len(siblings) > STAGGER_AT:
            for index, leaf in enumerate(sorted(siblings, key=lambda i: i.name)):
                minlen[leaf.pk] = 1 + index % STAGGER_COLUMNS
    return minlen


def render_svg(dot_source: str) -> str:
    """Lay out `dot_source` (cached by its hash) and return SVG that is safe to inline."""
    key = CACHE_PREFIX + hashlib.sha256(dot_source.encode()).hexdigest()
    svg = cache.get(key)
    if svg is None:
        svg = _reserve(_sanitize(_run_dot(dot_source)))
        cache.set(key, svg, CACHE_SECONDS)
    return svg


def _run_dot(dot_source: str) -> str:
    dot = shutil.which(settings.GRAPHVIZ_DOT)
    if dot is None:
        raise DotMissing("Graphviz's `dot` program is not installed.")
    try:
        result = subprocess.run(
            [dot, "-Tsvg"],
            input=dot_source.encode(),
            capture_output=True,
            timeout=DOT_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DiagramUnavailable("Graphviz took too long to lay out the pipeline.") from None
    if result.returncode != 0:
        message = result.stderr.decode(errors="replace").strip()[:300]
        raise DiagramUnavailable(f"Graphviz could not lay out the pipeline: {message}")
    return result.stdout.decode()


def _sanitize(svg: str) -> str:
    """Drop the XML prolog and refuse anything that could run script when inlined."""
    start = svg.find("<svg")
    if start < 0:
        raise DiagramUnavailable("Graphviz returned no SVG.")
    svg = re.sub(r"<!--.*?-->", "", svg[start:], flags=re.S)
    try:
        root = ET.fromstring(svg)  # noqa: S314 (our own dot's output, checked, not trusted)
    except ET.ParseError as exc:
        raise DiagramUnavailable(f"Graphviz returned malformed SVG: {exc}") from None
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag in _FORBIDDEN_SVG_TAGS:
            raise DiagramUnavailable(f"Refusing SVG with a <{tag}> element.")
        for attr, value in element.attrib.items():
            name = attr.rsplit("}", 1)[-1].lower()
            if name.startswith("on") or (
                name == "href" and value.strip().lower().startswith(("javascript:", "data:"))
            ):
                raise DiagramUnavailable(f"Refusing SVG with a {name} attribute.")
    return svg.strip()


_SVG_NS = "http://www.w3.org/2000/svg"
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_SLOT = re.compile(_MARK + r"([abce])(\d+)" + _MARK)


def _reserve(svg: str) -> str:
    """Turn the room kept for live states into marked slots, once per layout.

    A node's two reserved lines become centred, empty-looking slots `overlay` fills (their
    width was kept by the reserve text); its class gets a slot for state classes; an edge's
    label becomes a slot for its "N ready".
    """
    ET.register_namespace("", _SVG_NS)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    root = ET.fromstring(svg)  # noqa: S314 (sanitised output of our own dot)
    for group in root.iter(f"{{{_SVG_NS}}}g"):
        element_id, css = group.get("id", ""), group.get("class", "").split()
        texts = list(group.iter(f"{{{_SVG_NS}}}text"))
        if "node" in css and element_id.startswith("instance-"):
            pk = element_id.removeprefix("instance-")
            slots = [t for t in texts if t.text == STATE_RESERVE][-2:]
            if len(slots) == 2:
                centre = _centre_x(group)
                for text, kind in zip(slots, "ab", strict=True):
                    text.text = f"{_MARK}{kind}{pk}{_MARK}"
                    text.set("text-anchor", "middle")
                    if centre is not None:
                        text.set("x", f"{centre:.2f}")
                group.set("class", " ".join([*css, f"{_MARK}c{pk}{_MARK}"]))
        elif "edge" in css and element_id.startswith("edge-"):
            child = element_id.split("-")[1]
            for text in texts:
                if text.text == EDGE_RESERVE:
                    text.text = f"{_MARK}e{child}{_MARK}"
    return ET.tostring(root, encoding="unicode")


def _centre_x(group: ET.Element) -> float | None:
    """The middle of a node's box, from the x coordinates of its outline."""
    for shape in group.iter():
        tag = shape.tag.rsplit("}", 1)[-1]
        coordinates = shape.get("d") if tag == "path" else shape.get("points")
        if tag in ("path", "polygon") and coordinates:
            xs = [float(n) for n in _NUMBER.findall(coordinates)[::2]]
            if xs:
                return (min(xs) + max(xs)) / 2
    return None


def _fit(text: str) -> str:
    text = text if len(text) <= STATE_MAX_CHARS else text[: STATE_MAX_CHARS - 1] + "…"
    return html.escape(text, quote=True)


def overlay(svg: str, states: PipelineStates) -> str:
    """The laid-out `svg` with each node's and edge's live state written into its slots."""

    def fill(match: re.Match[str]) -> str:
        kind, state = match.group(1), states.of(int(match.group(2)))
        if kind == "a":
            return _fit(state.activity)
        if kind == "b":
            return _fit(state.attention)
        if kind == "c":
            return state.classes
        return f"{state.ready_up} ready" if state.ready_up else ""

    return _SLOT.sub(fill, svg)


@dataclass
class TreeRow:
    instance: Instance
    depth: int
    note: str = ""  # what waits there, when the page knows


def tree_rows(instances: Sequence[Instance]) -> list[TreeRow]:
    """The hierarchy as indented rows (roots first): the diagram's stand-in without Graphviz."""
    ids = {i.pk for i in instances}
    children: dict[int | None, list[Instance]] = defaultdict(list)
    for instance in instances:
        parent = instance.parent_id if instance.parent_id in ids else None
        children[parent].append(instance)
    rows: list[TreeRow] = []
    stack = [(i, 0) for i in sorted(children[None], key=lambda i: i.name, reverse=True)]
    seen: set[int] = set()
    while stack:
        instance, depth = stack.pop()
        if instance.pk in seen:
            continue
        seen.add(instance.pk)
        rows.append(TreeRow(instance, depth))
        below = sorted(children[instance.pk], key=lambda i: i.name, reverse=True)
        stack.extend((child, depth + 1) for child in below)
    return rows


@dataclass
class PipelineDiagram:
    """What the dashboard shows for one repository."""

    repository_id: int
    svg: str | None
    rows: list[TreeRow]
    problem: str | None
    dot_missing: bool


def diagram_for(
    graph_id: str,
    repository_id: int,
    instances: Sequence[Instance],
    by_id: dict[int, Instance],
    states: PipelineStates,
) -> PipelineDiagram:
    rows = tree_rows(instances)
    for row in rows:
        state = states.of(row.instance.pk)
        notes = [f"{state.ready_up} ready to promote"] if state.ready_up else []
        notes += [text for text in (state.activity, state.attention) if text]
        row.note = " · ".join(notes)
    if not instances:
        return PipelineDiagram(repository_id, None, rows, None, False)
    try:
        svg = render_svg(build_dot(graph_id, nodes_for(instances, by_id)))
    except DotMissing as exc:
        return PipelineDiagram(repository_id, None, rows, str(exc), True)
    except DiagramUnavailable as exc:
        return PipelineDiagram(repository_id, None, rows, str(exc), False)
    return PipelineDiagram(repository_id, overlay(svg, states), rows, None, False)
