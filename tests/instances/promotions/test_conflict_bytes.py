"""Conflicts the browser cannot show whole: a file over 200 KB, Latin-1, invalid UTF-8.

None of them is offered for editing; a resolution built on what the page showed is refused
with nothing changed, and taking one side whole commits that side's bytes exactly.
"""

import html

import pytest
from django.urls import reverse

from instances.models import PromotionStatus
from tests.instances.promotions.helpers import blob_at, conflict_on, run

pytestmark = pytest.mark.django_db

PATH = "force-app/main/default/staticresources/Legacy.resource"


def _big(marker: bytes) -> bytes:
    return b"".join(b"line %d of a long static resource\n" % n for n in range(9000)).replace(
        b"line 4500 of", marker + b" 4500 of"
    )


CASES = {
    "over 200 KB": (_big(b"line"), _big(b"ours"), _big(b"theirs"), "it is over 200 KB"),
    "Latin-1": (
        "Libellé: facture\nfin\n".encode("latin-1"),
        "Libellé: facture réglée\nfin\n".encode("latin-1"),
        "Libellé: facture annulée\nfin\n".encode("latin-1"),
        "it is not valid UTF-8 text",
    ),
    "invalid UTF-8": (
        b"header \xc3\x28 broken\nvalue 1\n",
        b"header \xc3\x28 broken\nvalue 2\n",
        b"header \xc3\x28 broken\nvalue 3\n",
        "it is not valid UTF-8 text",
    ),
}


@pytest.fixture(params=list(CASES))
def case(request, git_pipeline, developer):
    base, ours, theirs, why = CASES[request.param]
    assert len(_big(b"line")) > 300_000
    promotion = conflict_on(git_pipeline, developer, PATH, base, ours, theirs)
    return promotion, ours, theirs, why


def test_the_page_says_why_it_offers_no_text_to_edit(client_for, case):
    promotion, _ours, _theirs, why = case
    response = client_for("developer").get(promotion.get_absolute_url())
    body = html.unescape(response.content.decode())
    assert f"This file cannot be edited here: {why}." in body
    assert 'name="resolution_0"' not in body
    assert 'name="take_0" value="ours"' in body and 'name="take_0" value="theirs"' in body
    [conflict] = promotion.conflicts
    assert conflict["editable"] is False and conflict["why"] == why


def test_a_resolution_built_on_the_shown_text_is_refused_and_nothing_changes(
    client_for, case, git_pipeline
):
    promotion, ours, _theirs, why = case
    shown = promotion.conflicts[0]["result"]
    response = client_for("developer").post(
        reverse("promotion_resolve", args=[promotion.pk]), {"resolution_0": shown}
    )
    assert response.status_code == 200
    errors = response.context["resolution_form"].errors["take_0"]
    assert f"Choose a side for {PATH}: {why}, so it cannot be edited here." in errors
    promotion.refresh_from_db()
    assert promotion.status == PromotionStatus.CONFLICTED and not promotion.resolutions
    assert blob_at(git_pipeline["integration"], PATH) == ours


@pytest.mark.parametrize("side", ["ours", "theirs"])
def test_taking_a_side_commits_its_bytes_exactly(client_for, case, git_pipeline, side):
    promotion, ours, theirs, _why = case
    response = client_for("developer").post(
        reverse("promotion_resolve", args=[promotion.pk]), {"take_0": side}
    )
    assert response.status_code == 302
    promotion.refresh_from_db()
    assert promotion.resolutions[PATH]["take"] == side
    assert run(promotion).status == PromotionStatus.SUCCEEDED, promotion.failure_reason
    assert blob_at(git_pipeline["integration"], PATH) == (ours if side == "ours" else theirs)


def test_a_side_that_changed_since_the_choice_conflicts_again(client_for, case, git_pipeline):
    promotion, _ours, _theirs, _why = case
    client_for("developer").post(
        reverse("promotion_resolve", args=[promotion.pk]), {"take_0": "ours"}
    )
    promotion.refresh_from_db()
    promotion.resolutions = {PATH: {**promotion.resolutions[PATH], "blob": "0" * 40}}
    promotion.save(update_fields=["resolutions"])
    assert run(promotion).status == PromotionStatus.CONFLICTED
    assert promotion.conflicts[0]["path"] == PATH


def test_mixed_line_endings_are_not_offered_for_editing(client_for, git_pipeline, developer):
    promotion = conflict_on(
        git_pipeline, developer, PATH, b"a\r\nb\nc\n", b"a\r\nb\nours\n", b"a\r\nb\ntheirs\n"
    )
    [conflict] = promotion.conflicts
    assert conflict["editable"] is False
    assert conflict["why"] == "its line endings are mixed, and a browser would change them"
