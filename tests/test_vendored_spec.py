"""The repo's copy of WAHA's OpenAPI spec must stay identical to shared/'s, where shared/ is present."""

import hashlib

import pytest

from tests.openapi_spec import _SHARED_SPEC, _VENDORED_SPEC


def test_vendored_spec_matches_shared():
    if not _SHARED_SPEC.is_file():
        pytest.skip(f"shared spec not present at {_SHARED_SPEC}: only the vendored copy is used")
    assert hashlib.sha256(_VENDORED_SPEC.read_bytes()).hexdigest() == hashlib.sha256(_SHARED_SPEC.read_bytes()).hexdigest()
