"""The typed views: what they accept from WAHA and the conveniences they add."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from wahaweb.waha import Me, QRImage, ServerVersion, SessionDTO, SessionInfo, WahaStatus


@pytest.mark.parametrize(
    ("me_id", "phone"),
    [
        ("6281234567890@c.us", "6281234567890"),
        ("6281234567890:12@s.whatsapp.net", "6281234567890"),
        ("6281234567890", "6281234567890"),
    ],
)
def test_me_phone_is_the_number_before_the_at(me_id, phone):
    assert Me(id=me_id, pushName=None).phone == phone


def test_qr_data_url_is_ready_for_an_img_tag():
    assert QRImage(mimetype="image/png", data="AAAA").data_url == "data:image/png;base64,AAAA"


def test_status_is_a_str_enum_of_wahas_seven_statuses():
    assert [s.value for s in WahaStatus] == [
        "STOPPED", "STARTING", "SCAN_QR_CODE", "PASSKEY_REQUIRED",
        "PASSKEY_CONFIRMATION_REQUIRED", "WORKING", "FAILED",
    ]
    assert WahaStatus.WORKING == "WORKING" and f"{WahaStatus.FAILED}" == "FAILED"


def test_session_info_needs_only_name_and_status():
    info = SessionInfo.model_validate({"name": "s", "status": "STARTING"})
    assert info.me is None and info.config is None and info.engine_name is None and info.metadata == {}


def test_session_info_rejects_an_unknown_status():
    with pytest.raises(ValidationError):
        SessionInfo.model_validate({"name": "s", "status": "SLEEPING"})


def test_session_config_keeps_unknown_parts():
    dto = SessionDTO.model_validate({"name": "s", "status": "WORKING",
                                     "config": {"metadata": {"a": "1"}, "debug": True, "proxy": None}})
    assert dto.config.metadata == {"a": "1"}
    assert dto.config.model_extra == {"debug": True, "proxy": None}


@pytest.mark.parametrize(
    ("tier", "version", "many"),
    [
        ("CORE", "2026.5.2", False),
        ("CORE", "2026.6.1", True),
        ("CORE", "2026.10.0", True),
        ("PLUS", "2024.1.1", True),
        (None, None, True),
        ("core", "garbage", False),
    ],
)
def test_server_version_knows_when_only_the_default_session_is_allowed(tier, version, many):
    assert ServerVersion(tier=tier, version=version).allows_many_sessions is many
