"""The QR as one SVG path drawn from WAHA's raw text: scannable, compact, and WAHA's PNG when raw fails."""

from __future__ import annotations

import base64
import urllib.parse

from tests.qr_decode import decode_data_url, svg_of
from tests.timing import eventually
from wahaweb.core.qr_svg import qr_picture
from wahaweb.simulator.qr import new_qr_value, render_png

from .conftest import embedded_settings, reach, register


def test_drawn_qr_decodes_to_the_text_at_every_scale():
    """A QR decoder reads back exactly WAHA's text, at 2 to 4 pixels a module (a phone sees more),
    with the one fixed mask (`QR_MASK`: no mask scoring) over many texts."""
    for _ in range(40):
        text = new_qr_value()
        picture = qr_picture(text)
        assert (picture.mimetype, picture.source) == ("image/svg+xml", "raw")
        for scale in (2, 3, 4):
            assert decode_data_url(picture.data_url, scale) == [text]


def test_drawn_qr_is_one_path_with_no_base64():
    text = new_qr_value()
    svg = svg_of(qr_picture(text).data_url)
    assert svg.count("<path") == 1 and svg.count("<") == 3  # <svg>, <path/>, </svg>
    assert " " not in svg.split(" d='", 1)[1]  # the path has no spaces (each would be %20 in the URL)
    url = qr_picture(text).data_url
    assert ";base64" not in url and urllib.parse.unquote(url).endswith("</svg>")
    # For scale: the same QR as the simulator's PNG (scale 5) in base64 is ~1.3 KB; ours ~4.8 KB.
    png_url = len("data:image/png;base64,") + len(base64.b64encode(render_png(text)))
    assert len(url) < 4 * png_url < 8000


async def pairing(make_core, sqlite_url, email: str):
    # WAHA's real QR lifetimes (60 s, then 20 s): at the suite's usual 50x a QR lived 1.2 s, and
    # under load (a second suite beside this one) WAHA rotated mid-test and the engine's fetch of
    # the new QR showed up among the requests counted here (seen once).
    core = await make_core(embedded_settings(sqlite_url, sim_time_scale=1.0))
    user = await register(core, email)
    row = await core.sessions.create(user)
    await reach(core, user, row.id, "SCAN_QR_CODE")
    # The engine fetches the first QR on its own when it hears SCAN_QR_CODE: let that land first,
    # or its request joins the ones these tests count (seen once beside another make test).
    await eventually(lambda: core.live.qr.get(row.id) is not None and not core.live.qr.fetching(row.id),
                     what="the engine's first QR")
    return core, core.demo.simulator, row


async def test_a_server_whose_raw_qr_fails_gets_wahas_png_from_then_on(make_core, sqlite_url):
    core, sim, row = await pairing(make_core, sqlite_url, "png@example.com")
    qr_path = f"/api/{row.id}/auth/qr"
    sim.inject(status=404, count=1, path_prefix=qr_path)  # an older WAHA without format=raw
    sim.clear_requests()
    first = await core.sessions.fetch_qr(row.id)
    assert first.source == "png" and first.data_url.startswith("data:image/png;base64,")
    assert [r["status"] for r in sim.requests if r["path"] == qr_path] == [404, 200]
    sim.clear_requests()
    again = await core.sessions.fetch_qr(row.id)
    assert again.source == "png" and again.data_url == first.data_url
    assert [r["status"] for r in sim.requests if r["path"] == qr_path] == [200]  # raw not asked again


async def test_a_passing_raw_failure_falls_back_once_only(make_core, sqlite_url):
    """A 5xx or a dropped connection says nothing about the server's raw QR: raw again next time."""
    core, sim, row = await pairing(make_core, sqlite_url, "blip@example.com")
    sim.inject(status=502, count=3, path_prefix=f"/api/{row.id}/auth/qr")  # every retry of the raw fetch
    first = await core.sessions.fetch_qr(row.id)
    assert first.source == "png"
    again = await core.sessions.fetch_qr(row.id)
    assert again.source == "raw" and decode_data_url(again.data_url) == [sim.session(row.id).qr_value]
