"""The request form opened for a target: candidates searched and paged, never all listed."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from branching.models import Feature
from instances.promotions.views.promotion_request import CANDIDATES_PER_PAGE

pytestmark = pytest.mark.django_db

URL = reverse("promotion_create")


@pytest.fixture
def crowd(pipeline, developer):
    """120 features started from Integration (all candidates to bring in), one hostile title."""
    Feature.objects.bulk_create(
        Feature(
            repository=pipeline["repo"],
            key=f"RM-{n:03d}",
            title="<script>alert(1)</script>" if n == 7 else f"Feature {n}",
            owner=developer,
            branch=f"feature/RM-{n:03d}",
            started_from=pipeline["integration"],
        )
        for n in range(1, 121)
    )
    return pipeline["integration"]


def checkboxes(body: str) -> list[str]:
    return re.findall(r'name="features" value="([^"]+)"', body)


def test_it_shows_one_page_of_candidates_with_the_count(client_for, crowd):
    client = client_for("developer")
    body = client.get(f"{URL}?target={crowd.pk}").content.decode()
    assert checkboxes(body) == [f"RM-{n:03d}" for n in range(1, CANDIDATES_PER_PAGE + 1)]
    assert "120 features, page 1 of 3." in body
    assert 'rel="next"' in body and 'rel="prev"' not in body
    assert "<script>alert(1)</script>" not in body  # titles are escaped

    last = client.get(f"{URL}?target={crowd.pk}&page=3").content.decode()
    assert checkboxes(last) == [f"RM-{n:03d}" for n in range(101, 121)]
    assert 'rel="prev"' in last and 'rel="next"' not in last
    # A page number past the end or not a number shows a real page, not an error.
    assert client.get(f"{URL}?target={crowd.pk}&page=99").status_code == 200
    assert client.get(f"{URL}?target={crowd.pk}&page=x").status_code == 200


def test_it_searches_by_key_or_title(client_for, crowd):
    client = client_for("developer")
    body = client.get(f"{URL}?target={crowd.pk}&q=RM-11").content.decode()
    expected = [f"RM-{n}" for n in range(110, 120)]
    assert checkboxes(body) == expected
    assert "matching “RM-11”" in body
    by_title = client.get(f"{URL}?target={crowd.pk}&q=Feature 42").content.decode()
    assert checkboxes(by_title) == ["RM-042"]


def test_the_page_costs_the_same_however_many_candidates(client_for, crowd, developer, pipeline):
    client = client_for("developer")
    url = f"{URL}?target={crowd.pk}"
    client.get(url)
    with CaptureQueriesContext(connection) as before:
        client.get(url)
    Feature.objects.bulk_create(
        Feature(
            repository=pipeline["repo"],
            key=f"RM-{n}",
            title=f"More {n}",
            owner=developer,
            branch=f"feature/RM-{n}",
            started_from=crowd,
        )
        for n in range(1000, 1500)
    )
    with CaptureQueriesContext(connection) as after:
        body = client.get(url).content.decode()
    assert len(checkboxes(body)) == CANDIDATES_PER_PAGE
    assert len(after) == len(before)
