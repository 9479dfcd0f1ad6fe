"""The pipeline dashboard: inline SVG from Graphviz, escaping, caching, and the fallback tree."""

import re
import shutil
import xml.etree.ElementTree as ET

import pytest
from django.core.cache import cache
from django.urls import reverse

from instances.environments.diagram import (
    build_dot,
    dot_string,
    html_label_text,
    nodes_for,
    render_svg,
)
from tests.conftest import make_instance, make_repository

pytestmark = pytest.mark.django_db

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")

HOSTILE = [
    "<script>alert(1)</script>",
    "quote \" and ' apostrophe",
    '"]; x [label="pwned"',
    "back\\slash \\N \\G \\l",
    "new\nline\rand\ttab",
    "amp & <b>bold</b> &lt;",
    "</svg><img src=x onerror=alert(1)>",
]


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()


SVG = "{http://www.w3.org/2000/svg}"


def node_ids(svg: str) -> list[str]:
    """The ids of the diagram's nodes, as a browser sees them (entities decoded)."""
    root = ET.fromstring(svg)
    return [
        g.get("id", "") for g in root.iter(f"{SVG}g") if "node" in (g.get("class") or "").split()
    ]


def svg_of(response) -> str:
    body = response.content.decode()
    match = re.search(r"<svg.*?</svg>", body, re.S)
    assert match, "no inline SVG in the page"
    return match.group(0)


@needs_dot
def test_it_draws_every_instance_as_a_linked_node(client_for, pipeline):
    response = client_for("release_manager").get(reverse("dashboard"))
    svg = svg_of(response)
    root = ET.fromstring(svg)
    ns = {"svg": "http://www.w3.org/2000/svg", "xlink": "http://www.w3.org/1999/xlink"}
    assert sorted(node_ids(svg)) == sorted(
        f"instance-{i.pk}" for k, i in pipeline.items() if k != "repo"
    )
    links = {a.get("{http://www.w3.org/1999/xlink}href") for a in root.findall(".//svg:a", ns)}
    for key in ("prod", "uat", "qa", "integration", "alice", "bob", "scratch"):
        assert pipeline[key].get_absolute_url() in links
    titles = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "Dev Alice" in titles and "dev/alice" in titles and "Scratch org" in titles


@needs_dot
def test_it_draws_edges_from_child_to_parent(pipeline):
    dot = build_dot("g", nodes_for(list(pipeline["repo"].instances.all()), {}))
    qa, uat = pipeline["qa"], pipeline["uat"]
    assert f"i{qa.pk} -> i{uat.pk} [" in dot
    assert f"i{uat.pk} -> i{qa.pk} [" not in dot


@needs_dot
def test_it_marks_production_distinctly(pipeline):
    dot = build_dot("g", nodes_for(list(pipeline["repo"].instances.all()), {}))
    prod_line = next(line for line in dot.splitlines() if f"i{pipeline['prod'].pk} [" in line)
    qa_line = next(line for line in dot.splitlines() if f"i{pipeline['qa'].pk} [" in line)
    assert "peripheries=2" in prod_line and "peripheries" not in qa_line


@needs_dot
@pytest.mark.parametrize("name", HOSTILE)
def test_it_escapes_hostile_names_in_the_svg_and_page(client_for, name):
    repo = make_repository(name=name + " repo")
    make_instance(repo, name=name, branch="dev/hostile", description=name)
    response = client_for("developer").get(reverse("dashboard"))
    assert response.status_code == 200
    body = response.content.decode()
    svg = svg_of(response)
    ET.fromstring(svg)  # still well-formed XML: nothing broke out of a label
    assert "<script" not in body.replace('<script src="/static/vendor/htmx', "")
    assert "<img" not in body and "<b>bold" not in body
    assert len(node_ids(svg)) == 1


def test_it_escapes_text_for_dot_labels_and_strings():
    assert html_label_text('<a href="x">&</a>') == "&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;"
    assert html_label_text("two\nlines") == "two lines"
    assert dot_string('say "hi" \\N') == '"say \\"hi\\" \\\\N"'


@needs_dot
def test_it_never_lays_out_an_unchanged_pipeline_twice(pipeline, settings):
    instances = list(pipeline["repo"].instances.all())
    dot = build_dot("g", nodes_for(instances, {}))
    first = render_svg(dot)
    settings.GRAPHVIZ_DOT = "/nonexistent/dot"  # a second layout would now fail
    assert render_svg(dot) == first
    changed = build_dot("g", nodes_for(instances[:-1], {}))
    with pytest.raises(Exception, match="not installed"):
        render_svg(changed)


def test_it_shows_a_tree_and_a_notice_without_graphviz(client_for, pipeline, settings):
    settings.GRAPHVIZ_DOT = "/nonexistent/dot"
    response = client_for("developer").get(reverse("dashboard"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "<svg" not in body
    assert "apt-get install graphviz" in body
    tree = re.search(r'<ul class="tree">(.*?)</ul>', body, re.S).group(1)
    names = re.findall(r'<a href="/instances/\d+/">([^<]+)</a>', tree)
    assert names == ["Production", "UAT", "QA", "Integration", "Dev Alice", "Dev Bob", "Scratch CI"]
    depths = re.findall(r"--depth: (\d+)", tree)
    assert depths == ["0", "1", "2", "3", "4", "4", "4"]


@needs_dot
def test_it_shows_a_parent_from_a_long_term_repository_as_an_external_node(client_for, pipeline):
    long_term = make_repository(
        name="Acme Q1", storage="acme", main_branch="release/2027-q1", is_long_term=True
    )
    staging = make_instance(
        long_term,
        name="Q1 Staging",
        purpose="staging",
        branch="release/2027-q1-staging",
        parent=pipeline["uat"],
    )
    body = client_for("developer").get(reverse("dashboard")).content.decode()
    section = body.split(f'id="repository-{long_term.pk}"')[1]
    assert "Long-term" in section.split("</h2>")[0]
    svg = re.search(r"<svg.*?</svg>", section, re.S).group(0)
    assert set(node_ids(svg)) == {
        f"pipeline-{long_term.pk}-parent-{pipeline['uat'].pk}",
        f"instance-{staging.pk}",
    }
    assert f'href="{pipeline["uat"].get_absolute_url()}"' in svg
    assert "stroke-dasharray" in svg  # the external parent is drawn dashed


def test_it_invites_a_release_manager_to_start_when_empty(client_for, db):
    body = client_for("release_manager").get(reverse("dashboard")).content.decode()
    assert "Add a repository" in body
    body = client_for("developer").get(reverse("dashboard")).content.decode()
    assert "Add a repository" not in body


@needs_dot
def test_it_never_repeats_an_element_id_on_the_page(client_for, pipeline):
    long_term = make_repository(name="Acme Q1", storage="acme", main_branch="release/2027-q1")
    make_instance(
        long_term,
        name="Q1 Staging",
        purpose="staging",
        branch="release/2027-q1-staging",
        parent=pipeline["uat"],
    )
    body = client_for("developer").get(reverse("dashboard")).content.decode()
    ids = re.findall(r'\sid="([^"]+)"', body)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_it_spreads_many_leaves_over_a_few_columns(pipeline):
    for n in range(20):
        make_instance(
            pipeline["repo"], name=f"Dev {n:02}", branch=f"dev/{n}", parent=pipeline["integration"]
        )
    dot = build_dot("g", nodes_for(list(pipeline["repo"].instances.all()), {}))
    minlens = re.findall(r"minlen=(\d)", dot)
    assert sorted(set(minlens)) == ["2", "3"]
    qa_to_uat = re.search(rf"i{pipeline['qa'].pk} -> i{pipeline['uat'].pk} \[(.*)\];", dot)
    assert "minlen" not in qa_to_uat.group(1)  # not a leaf: not staggered


@needs_dot
def test_it_draws_a_big_pipeline_wider_and_shorter(pipeline):
    for n in range(60):
        make_instance(
            pipeline["repo"], name=f"Dev {n:02}", branch=f"dev/{n}", parent=pipeline["integration"]
        )
    svg = render_svg(build_dot("g", nodes_for(list(pipeline["repo"].instances.all()), {})))
    width, height = (
        float(v) for v in re.search(r'width="([\d.]+)pt" height="([\d.]+)pt"', svg).groups()
    )
    assert height / width < 4  # one column of 60 would be about 15 times taller than wide
