"""A NUL character in a URL is a 400 before any view (releasemgr/middleware.py).

PostgreSQL's text cannot hold NUL: before, a page or an API call that looked a feature up by
a key with one raised in the database (a 500), where SQLite found nothing. The suite runs on
both databases.
"""

import json

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/features/RM-1\x00/",
        "/promotions/new/?feature=RM-1%00",
        "/promotions/new/?features=RM-1&features=RM-2%00",
        "/features/?q=%00",
        "/instances/?a%00=1",  # in a parameter's name too
    ],
)
def test_a_page_with_nul_in_its_url_is_a_400_in_words(client_for, pipeline, url):
    response = client_for("developer").get(url)
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert response.content == b"A URL may not hold a NUL character (%00).\n"


def test_the_api_answers_a_problem_document(client_for, pipeline):
    response = client_for("developer").get("/api/v1/features/RM-1\x00")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = json.loads(response.content)
    assert problem["detail"] == "A URL may not hold a NUL character (%00)."
    assert problem["instance"] == "/api/v1/features/RM-1%00"


def test_urls_without_nul_go_on_to_their_views(client_for, pipeline):
    client = client_for("developer")
    assert client.get("/features/?q=RM").status_code == 200
    assert client.get("/healthz").status_code in (200, 503)  # no login needed, no cluster here
