"""The dashboard's counts: features ready on each edge, what waits at each node, in O(1) queries."""

import re
import shutil
import xml.etree.ElementTree as ET

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from instances.environments.diagram import build_dot, nodes_for
from instances.models import OrgType, Promotion, PromotionStatus, Purpose
from tests.conftest import make_instance, make_repository
from tests.instances.promotions.helpers import HOSTILE, make_feature, make_promotion, place

pytestmark = pytest.mark.django_db

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()


@pytest.fixture
def busy(pipeline, developer):
    """RM-1, RM-2 and RM-3 in Dev Alice, RM-1 also in Integration; one running and one queued
    promotion into QA."""
    one = make_feature(pipeline["repo"], "RM-1", developer)
    place(one, pipeline["alice"], pipeline["integration"])
    for key in ("RM-2", "RM-3"):
        place(make_feature(pipeline["repo"], key, developer), pipeline["alice"])
    make_promotion(
        pipeline["qa"], [one], developer, source=pipeline["integration"], status="running"
    )
    make_promotion(pipeline["qa"], [one], developer, source=pipeline["integration"])
    return pipeline


def svg_of(body: str, repository_pk: int) -> ET.Element:
    section = body.split(f'id="repository-{repository_pk}"')[1]
    return ET.fromstring(re.search(r"<svg.*?</svg>", section, re.S).group(0))


def group_text(root: ET.Element, element_id: str) -> str:
    group = next(g for g in root.iter(f"{SVG}g") if g.get("id") == element_id)
    return " ".join(t.text or "" for t in group.iter(f"{SVG}text"))


def test_it_keeps_counts_out_of_the_dot_source(busy):
    """The layout depends on the hierarchy alone: counts are written into the laid-out SVG."""
    p = busy
    dot = build_dot("g", nodes_for(list(p["repo"].instances.all()), {}))
    assert f'i{p["alice"].pk} -> i{p["integration"].pk} [id="edge-' in dot
    assert "2 ready" not in dot and "back-promote" not in dot and "queued" not in dot


@needs_dot
def test_it_draws_the_counts_on_the_dashboard(client_for, busy):
    p = busy
    body = client_for("developer").get(reverse("dashboard")).content.decode()
    root = svg_of(body, p["repo"].pk)
    assert group_text(root, f"edge-{p['alice'].pk}-{p['integration'].pk}") == "2 ready"
    assert group_text(root, f"edge-{p['integration'].pk}-{p['qa'].pk}") == "1 ready"
    running = Promotion.objects.get(target=p["qa"], status=PromotionStatus.RUNNING)
    assert f"▶ #{running.pk} checking · 1 queued" in group_text(root, f"instance-{p['qa'].pk}")
    assert "1 to back-promote" in group_text(root, f"instance-{p['bob'].pk}")
    assert "1 to back-promote" in group_text(root, f"instance-{p['scratch'].pk}")
    assert "back-promote" not in group_text(root, f"instance-{p['alice'].pk}")
    links = {a.get("{http://www.w3.org/1999/xlink}href") for a in root.iter(f"{SVG}a")}
    assert p["alice"].get_absolute_url() + "#ready-to-promote" in links


def test_it_shows_the_counts_in_the_tree_without_graphviz(client_for, busy, settings):
    settings.GRAPHVIZ_DOT = "/nonexistent/dot"
    body = client_for("developer").get(reverse("dashboard")).content.decode()
    tree = re.search(r'<ul class="tree">(.*?)</ul>', body, re.S).group(1)
    assert '<span class="count-note">2 ready to promote</span>' in tree
    assert '<span class="count-note">1 ready to promote</span>' in tree  # Integration
    assert '<span class="count-note">1 to back-promote</span>' in tree  # Dev Bob
    assert "checking · 1 queued" in tree


@needs_dot
def test_it_escapes_hostile_names_and_titles_with_counts(client_for, developer):
    repo = make_repository(name="Hostile")
    parent = make_instance(repo, name=HOSTILE + " parent", branch="hostile/parent")
    child = make_instance(repo, name=HOSTILE, branch="hostile/child", parent=parent)
    feature = make_feature(repo, "RM-1", developer, title=HOSTILE)
    place(feature, child)
    make_promotion(parent, [feature], developer, source=child, status=PromotionStatus.QUEUED)
    body = client_for("developer").get(reverse("dashboard")).content.decode()
    root = svg_of(body, repo.pk)  # well-formed: nothing broke out of a label or tooltip
    assert group_text(root, f"edge-{child.pk}-{parent.pk}") == "1 ready"
    assert "<script>alert" not in body and "<img src=x" not in body


def add_busy_pipeline(size: int, tag: str, owner) -> None:
    """`size` instances under production, each child holding features and receiving promotions."""
    repo = make_repository(name=f"Acme {tag}", storage=f"acme-{tag}")
    prod = make_instance(
        repo, purpose=Purpose.PRODUCTION, org_type=OrgType.PRODUCTION, branch="main"
    )
    qa = make_instance(repo, purpose=Purpose.QA, branch="qa", parent=prod)
    for n in range(size - 2):
        dev = make_instance(repo, branch=f"dev/{n}", parent=qa)
        feature = make_feature(repo, f"{tag.upper()}-{n}", owner)
        place(feature, dev)
        if n % 2:
            place(feature, qa)
        make_promotion(dev, [feature], owner, status=PromotionStatus.QUEUED)


def test_it_runs_as_many_queries_with_counts_for_100_instances_as_for_10(client_for, developer):
    client = client_for("release_manager")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("dashboard")).status_code == 200
        return len(captured)

    add_busy_pipeline(10, "small", developer)
    small = queries()
    add_busy_pipeline(90, "large", developer)
    assert queries() == small
