"""Settings for the commands that need nothing but a git repository on disk.

`merge_tree` and `build_package` read and write git objects; they need no database, no
secret key, no encryption key and no data directory, so `manage.py` runs them with these
settings (see manage.py) and they work on any machine, CI included, with no environment.
"""

INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "releasemgr", "branching"]
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING_CONFIG = None
