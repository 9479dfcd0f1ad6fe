"""The demo repository that `seed_demo` builds: its files (folders here) and its history."""
