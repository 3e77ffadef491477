"""The reverse proxy's routes (deploy/nginx/locations.conf) against the URLs the app serves.

nginx sends the answer autosave to workers of its own by a URL pattern written in that file, not by
Django. These tests keep the two in step: the pattern takes the autosave and nothing else, whatever
routes are added, renamed or moved.
"""

import re
from pathlib import Path

from django.urls import URLPattern, URLResolver, get_resolver, resolve

LOCATIONS = Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "locations.conf"
AUTOSAVE = "/api/v1/inspections/12/answers/34"


def _autosave_pattern() -> re.Pattern:
    """The regular expression of the one location that proxies to supervision_autosave."""
    text = LOCATIONS.read_text(encoding="utf-8")
    blocks = re.findall(r"location\s+~\s+(\S+)\s*\{([^}]*)\}", text)
    autosave = [regex for regex, body in blocks if "proxy_pass http://supervision_autosave;" in body]
    assert len(autosave) == 1, blocks
    return re.compile(autosave[0])


def _sample_paths(patterns, prefix: str = "") -> list[str]:
    """One concrete path per route: every converter (<int:pk>, <str:token>...) filled with "12"."""
    paths = []
    for entry in patterns:
        route = str(entry.pattern)
        route = re.sub(r"<(?:\w+:)?\w+>", "12", route).removeprefix("^").removesuffix("$").replace("\\", "")
        if isinstance(entry, URLResolver):
            paths += _sample_paths(entry.url_patterns, prefix + route)
        elif isinstance(entry, URLPattern):
            paths.append("/" + prefix + route)
    return paths


def test_the_autosave_pattern_takes_the_autosave_route_and_no_other():
    pattern = _autosave_pattern()
    paths = _sample_paths(get_resolver().url_patterns)
    assert len(paths) > 100  # the whole app was walked, its API included
    assert "/api/v1/inspections/12/answers/12" in paths
    assert [path for path in paths if pattern.search(path)] == ["/api/v1/inspections/12/answers/12"]


def test_the_pattern_leaves_the_rest_of_an_answer_to_the_general_workers():
    pattern = _autosave_pattern()
    assert pattern.search(AUTOSAVE)
    assert resolve(AUTOSAVE).url_name  # a route of the app, not a guess
    for path in (
        AUTOSAVE + "/photos",  # decoding and re-encoding a photo: the heavy work this keeps apart
        AUTOSAVE + "/",
        "/api/v1/inspections/12/answers",
        "/api/v1/inspections/12/submit",
        "/api/v1/inspections/12/signatures",
        "/api/v1/inspections/x/answers/34",
        "/prefix/api/v1/inspections/12/answers/34",
    ):
        assert not pattern.search(path), path


def test_every_other_route_goes_to_the_general_workers():
    text = LOCATIONS.read_text(encoding="utf-8")
    assert re.search(r"location\s+/\s*\{\s*proxy_pass http://supervision_app;\s*\}", text)
