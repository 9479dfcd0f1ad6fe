"""The metrics charts as SVG, drawn on the server by pygal.

pygal writes the SVG with lxml, so instance names are escaped as text; with `js=[]` and its
configuration script removed the document carries no script at all. The charts are served as
images (`<img>`), each with the same numbers as a table beside it for screen readers.
"""

from __future__ import annotations

from collections.abc import Sequence

import pygal
from lxml import etree
from pygal.style import Style

from instances.metrics.dora import InstanceMetrics, Report, hours

CHARTS = {
    "deployments": "Deployments per week",
    "lead-time": "Lead time and stage wait per instance (hours)",
    "failure-rate": "Change failure rate per instance (%)",
    "queue": "Time waiting in the queue per instance (hours)",
}

_STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#0f172a",
    foreground_strong="#0f172a",
    foreground_subtle="#64748b",
    colors=("#1d4ed8", "#b91c1c", "#15803d", "#a16207", "#7c3aed"),
    font_family="system-ui, sans-serif",
    label_font_size=11,
    major_label_font_size=11,
    legend_font_size=12,
    title_font_size=14,
)


def _config(chart_class: type[pygal.graph.graph.Graph], title: str, **extra: object) -> pygal.Graph:
    return chart_class(
        title=None,  # the page's figure caption names the chart
        style=_STYLE,
        js=[],  # no script in the document
        disable_xml_declaration=True,
        width=720,
        height=320,
        legend_at_bottom=True,
        print_values=False,
        no_data_text="No data in this period",
        truncate_label=24,
        **extra,
    )


def _names(rows: Sequence[InstanceMetrics]) -> list[str]:
    return [m.instance.name for m in rows]


def render(name: str, report: Report) -> bytes:
    """The SVG of chart `name` (one of CHARTS) for `report`."""
    rows = report.instances
    title = CHARTS[name]
    if name == "deployments":
        chart = _config(pygal.Bar, title, x_label_rotation=30)
        chart.x_labels = [week.isoformat() for week, _, _ in report.weekly]
        chart.add("Into production", [production for _, production, _ in report.weekly])
        chart.add("Into any instance", [every for _, _, every in report.weekly])
    elif name == "lead-time":
        chart = _config(pygal.HorizontalBar, title)
        chart.x_labels = _names(rows)
        chart.add("Lead time (first commit → arrival)", [hours(m.lead_time, 1) for m in rows])
        chart.add("Stage wait (arrival → promoted on)", [hours(m.stage_wait, 1) for m in rows])
    elif name == "failure-rate":
        chart = _config(pygal.Bar, title, range=(0, 100), x_label_rotation=30)
        chart.x_labels = _names(rows)
        chart.add(
            "Change failure rate",
            [
                round(rate * 100, 1) if (rate := m.change_failure_rate) is not None else None
                for m in rows
            ],
        )
    elif name == "queue":
        chart = _config(pygal.StackedBar, title, x_label_rotation=30)
        chart.x_labels = _names(rows)
        chart.add("Waiting for approval", [hours(m.approval_wait, 1) for m in rows])
        chart.add("Queued behind other work", [hours(m.queue_wait, 1) for m in rows])
    else:
        raise KeyError(name)
    return _without_script(chart)


def _without_script(chart: pygal.Graph) -> bytes:
    """The chart's SVG less the configuration script pygal always writes (even with `js=[]`)."""
    tree = chart.render_tree()
    for script in tree.iter("{*}script", "script"):
        script.getparent().remove(script)
    return etree.tostring(tree)
