"""The pipeline diagram: instances and their parents drawn by Graphviz as inline SVG.

Every piece of user text reaches `dot` escaped (HTML-like labels for node text, quoted strings
for tooltips), and the SVG that comes back is checked before it is inlined into a page. An
unchanged pipeline is never laid out twice: the SVG is cached under a hash of its DOT source
(which holds the counts too, so a pipeline is laid out again when what waits in it changes).
"""

from __future__ import annotations

import hashlib
import html
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from instances.models import Instance, OrgType, PromotionStatus, Purpose

CACHE_PREFIX = "pipeline-svg:v1:"
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


@dataclass(frozen=True)
class PipelineCounts:
    """What waits in the pipeline, from `promotions.pending_counts` and `active_counts`."""

    ready_up: Mapping[int, int] = field(default_factory=dict)  # child → features for its parent
    back: Mapping[int, int] = field(default_factory=dict)  # instance → back promotions pending
    active: Mapping[int, Mapping[str, int]] = field(default_factory=dict)  # target → status → n

    def node_text(self, instance_id: int) -> str:
        """ "1 running · 2 queued · 3 to back-promote": what waits at an instance, or ""."""
        active = self.active.get(instance_id, {})
        parts = [
            f"{n} {label}"
            for status, label in (
                (PromotionStatus.RUNNING, "running"),
                (PromotionStatus.QUEUED, "queued"),
                (PromotionStatus.AWAITING_APPROVAL, "awaiting approval"),
            )
            if (n := active.get(status, 0))
        ]
        if back := self.back.get(instance_id, 0):
            parts.append(f"{back} to back-promote")
        return " · ".join(parts)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def build_dot(graph_id: str, nodes: Iterable[Node], counts: PipelineCounts | None = None) -> str:
    """DOT source for one repository's pipeline; edges go from child to parent.

    With `counts`, each edge is labelled with the features ready to promote up it, and each
    node says what runs, waits or is pending back promotion into it.
    """
    nodes = list(nodes)
    counts = counts or PipelineCounts()
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
    for node in nodes:
        instance = node.instance
        fill, border = PURPOSE_COLOURS.get(instance.purpose, ("#f1f5f9", "#475569"))
        details = f"{instance.branch} · {OrgType(instance.org_type).label}"
        waiting = "" if node.external else counts.node_text(instance.pk)
        label = (
            f"<<b>{html_label_text(instance.name)}</b><br/>"
            f'<font point-size="9">{html_label_text(details)}</font>'
            + (f'<br/><font point-size="9">{html_label_text(waiting)}</font>' if waiting else "")
            + ">"
        )
        tooltip = f"{instance.name} ({instance.get_purpose_display()})"
        if waiting:
            tooltip += f": {waiting}"
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
        ready = counts.ready_up.get(child.pk, 0)
        minlen = stagger.get(child.pk, 1)
        if not ready:
            lines.append(
                f"  i{child.pk} -> i{parent_id}"
                + (f" [minlen={minlen}]" if minlen > 1 else "")
                + ";"
            )
            continue
        parent = by_pk[parent_id]
        url = reverse("instance_detail", args=[child.pk]) + "#ready-to-promote"
        tip = f"{_plural(ready, 'feature')} ready to promote from {child.name} to {parent.name}"
        edge = [
            f"id={dot_string(f'edge-{child.pk}-{parent_id}')}",
            f"label={dot_string(f'{ready} ready')}",
            f"tooltip={dot_string(tip)}",
            f"URL={dot_string(url)}",
            'target="_top"',
            "fontsize=9",
            'fontname="Helvetica"',
            'fontcolor="#1d4ed8"',
            f"minlen={minlen}",
        ]
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
        svg = _sanitize(_run_dot(dot_source))
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
    counts: PipelineCounts | None = None,
) -> PipelineDiagram:
    rows = tree_rows(instances)
    if counts is not None:
        for row in rows:
            ready = counts.ready_up.get(row.instance.pk, 0)
            notes = [f"{ready} ready to promote"] if ready else []
            if waiting := counts.node_text(row.instance.pk):
                notes.append(waiting)
            row.note = " · ".join(notes)
    if not instances:
        return PipelineDiagram(repository_id, None, rows, None, False)
    try:
        svg = render_svg(build_dot(graph_id, nodes_for(instances, by_id), counts))
    except DotMissing as exc:
        return PipelineDiagram(repository_id, None, rows, str(exc), True)
    except DiagramUnavailable as exc:
        return PipelineDiagram(repository_id, None, rows, str(exc), False)
    return PipelineDiagram(repository_id, svg, rows, None, False)
