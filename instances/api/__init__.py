"""The JSON API under /api/v1/ (django-ninja), one module per resource.

It sits at the top of the `instances` stack and may import every subdomain: it calls the same
access helpers and domain functions as the pages, so there is one permission system and one
set of rules. A personal access token authenticates as its user, narrowed by its scopes.
"""
