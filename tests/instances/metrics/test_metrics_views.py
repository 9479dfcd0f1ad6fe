"""The metrics page, its charts and its CSV: who sees them, and what hostile names become."""

import csv
import io

import pytest

from instances.models import PromotionStatus
from tests.instances.promotions.helpers import HOSTILE, make_feature, make_promotion

pytestmark = pytest.mark.django_db

PAGES = ["/metrics/", "/metrics/metrics.csv", "/metrics/charts/deployments.svg"]


@pytest.mark.parametrize("url", PAGES)
@pytest.mark.parametrize(
    ("persona", "expected"),
    [("outsider", 403), ("developer", 200), ("release_manager", 200), ("admin", 200)],
)
def test_it_serves_people_with_a_role(client_for, pipeline, url, persona, expected):
    assert client_for(persona).get(url).status_code == expected


@pytest.mark.parametrize("url", PAGES)
def test_it_sends_anonymous_visitors_to_log_in(client_for, url):
    response = client_for("anonymous").get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def _history(pipeline, developer):
    pipeline["prod"].name = HOSTILE
    pipeline["prod"].save(update_fields=["name"])
    feature = make_feature(pipeline["repo"], "RM-1", developer)
    make_promotion(
        pipeline["prod"],
        [feature],
        developer,
        source=pipeline["uat"],
        status=PromotionStatus.SUCCEEDED,
        finished_at="2026-11-20T10:00:00Z",
    )


def test_it_shows_the_numbers_beside_the_charts(client_for, pipeline, developer):
    _history(pipeline, developer)
    page = client_for("developer").get("/metrics/?days=365").content.decode()
    assert "Deployment frequency" in page
    assert page.count("<img") == 4  # every chart, each an image with alternative text
    assert 'alt="Deployments per week' in page
    assert '<th scope="col">Into production</th>' in page
    assert HOSTILE not in page and "&lt;script&gt;" in page


@pytest.mark.parametrize("name", ["deployments", "lead-time", "failure-rate", "queue"])
def test_it_draws_each_chart_as_an_svg_without_script(client_for, pipeline, developer, name):
    _history(pipeline, developer)
    response = client_for("developer").get(f"/metrics/charts/{name}.svg?days=365")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    svg = response.content.decode()
    assert svg.startswith("<svg")
    assert "<script" not in svg and "onerror" not in svg.replace("onerror=alert", "")
    assert "<img src=x" not in svg


def test_it_refuses_an_unknown_chart(client_for, pipeline):
    assert client_for("developer").get("/metrics/charts/nope.svg").status_code == 404


def test_it_writes_csv_that_no_spreadsheet_runs_as_a_formula(client_for, pipeline, developer):
    pipeline["uat"].name = '=HYPERLINK("http://evil")'
    pipeline["uat"].save(update_fields=["name"])
    _history(pipeline, developer)
    response = client_for("developer").get("/metrics/metrics.csv?days=365")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {row["instance"] for row in rows} >= {HOSTILE, '\'=HYPERLINK("http://evil")'}
    prod = next(row for row in rows if row["instance"] == HOSTILE)
    assert prod["deployments"] == "1"
    assert prod["change_failure_rate"] == "0.0000"


@pytest.mark.parametrize(
    "query", ["days=abc", "days=-3", "repository=999999", "instance=x", "days=100000000"]
)
def test_it_answers_bad_filters_with_the_defaults_and_an_error(client_for, pipeline, query):
    response = client_for("developer").get(f"/metrics/?{query}")
    assert response.status_code == 200
    assert 'class="error"' in response.content.decode()
    assert client_for("developer").get(f"/metrics/metrics.csv?{query}").status_code == 200


def test_it_narrows_to_a_repository_and_an_instance(client_for, pipeline, developer):
    _history(pipeline, developer)
    qa = pipeline["qa"]
    page = client_for("developer").get(f"/metrics/?instance={qa.pk}").content.decode()
    assert f'href="/instances/{qa.pk}/"' in page
    assert f'href="/instances/{pipeline["uat"].pk}/"' not in page


def test_it_leaves_out_instances_the_user_may_not_see(client_for, pipeline, developer):
    from django.contrib.auth.models import Group

    from instances.models import Capability, InstanceGrant
    from releasemgr.roles import RELEASE_MANAGERS

    InstanceGrant.objects.create(
        instance=pipeline["prod"],
        capability=Capability.VIEW,
        group=Group.objects.get(name=RELEASE_MANAGERS),
    )
    _history(pipeline, developer)
    prod = pipeline["prod"]
    link = f'href="/instances/{prod.pk}/"'
    assert link not in client_for("developer").get("/metrics/?days=365").content.decode()
    assert link in client_for("release_manager").get("/metrics/?days=365").content.decode()
    assert (
        HOSTILE not in client_for("developer").get("/metrics/metrics.csv?days=365").content.decode()
    )
    forced = client_for("developer").get(f"/metrics/?instance={prod.pk}").content.decode()
    assert link not in forced
    assert 'class="error"' in forced  # not a choice for them

    def names(persona: str) -> set[str]:
        body = client_for(persona).get("/metrics/metrics.csv?days=365").content.decode()
        return {row["instance"] for row in csv.DictReader(io.StringIO(body))}

    assert HOSTILE not in names("developer")
    assert HOSTILE in names("release_manager")
