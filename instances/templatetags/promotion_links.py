"""Template filters of the promotion pages."""

import re

from django import template
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

_PROMOTION = re.compile(r"\bpromotion #(\d{1,18})\b")


@register.filter
def promotion_links(message: str) -> SafeString:
    """A log message, escaped, with each "promotion #N" a link to that promotion's page."""

    def link(match: re.Match[str]) -> str:
        url = reverse("promotion_detail", args=[int(match.group(1))])
        return str(format_html('<a href="{}">promotion #{}</a>', url, match.group(1)))

    return mark_safe(_PROMOTION.sub(link, str(escape(message))))  # noqa: S308 - escaped first
