"""The click -> painted QR path of wahaweb_qr_visible, cut into hops on one clock (epoch ms).

Browser side (`HOP_INIT_JS`, a Playwright init script, so it runs before the app's own code):
`window.WebSocket` is subclassed so that every frame the socket.io client sends or receives is
stamped (a message listener added in the constructor runs before socket.io's `onmessage`), and a
MutationObserver stamps the moment `#session-qr` enters the DOM, then the next animation frame
(`requestAnimationFrame` after the mutation: the frame that paints it) and the image's `decode()`.
Stamps are `performance.timeOrigin + performance.now()`.

Server side: the app runs with `WAHAWEB_HOP_TRACE` (`wahaweb/state/hop_trace.py`), which appends
one JSON line per hop stamped with `time.time()`; both clocks are the same machine's.
"""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.stats import Stats

HOP_INIT_JS = """
(() => {
  const now = () => performance.timeOrigin + performance.now();
  const T = window.__hop = {armed: false, t0: null, sends: [], qrFrames: [], frames: [],
                            dom: null, frame: null, decoded: null};
  const Native = window.WebSocket;
  class Traced extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        if (!T.armed) return;
        const data = typeof e.data === 'string' ? e.data : '';
        const stamp = {t: now(), bytes: data.length};
        if (data.includes('image/svg') || data.includes('image/png')) T.qrFrames.push(stamp);
        else T.frames.push(stamp);
      });
    }
    send(data) {
      if (T.armed) T.sends.push({t: now(), bytes: (data && data.length) || 0});
      return super.send(data);
    }
  }
  window.WebSocket = Traced;
  const seen = () => {
    if (!T.armed || T.dom !== null) return;
    const el = document.querySelector('#session-qr');
    if (!el) return;
    T.dom = now();
    requestAnimationFrame(() => { T.frame = now(); });
    const img = el.tagName === 'IMG' ? el : el.querySelector('img');
    if (img && img.decode) img.decode().then(() => { T.decoded = now(); }, () => {});
    else T.decoded = T.dom;
  };
  new MutationObserver(seen).observe(document, {childList: true, subtree: true, attributes: true,
                                                attributeFilter: ['id', 'src']});
})();
"""

#: (name, from, to): each a server hop name or a browser stamp ("b:..."), as in `join`.
HOPS: list[tuple[str, str, str]] = [
    ("click_to_event_sent", "b:click", "b:send"),
    ("event_sent_to_reserve_start", "b:send", "reserve_start"),
    ("reserve", "reserve_start", "reserve_end"),
    ("reserve_to_waha_create", "reserve_end", "waha_create_sent"),
    ("waha_create_to_webhook", "waha_create_sent", "webhook"),
    ("webhook_to_qr_fetch", "webhook", "qr_fetch_start"),
    ("qr_fetch_raw", "qr_fetch_start", "qr_fetched"),
    ("draw_svg", "qr_fetched", "qr_drawn"),
    ("drawn_to_notified", "qr_drawn", "qr_notified"),
    ("notified_to_tab_emit", "qr_notified", "emit_start"),
    ("emit", "emit_start", "emit_end"),
    ("emit_to_frame_in_page", "emit_end", "b:qr_frame"),
    ("frame_to_dom", "b:qr_frame", "b:dom"),
    ("dom_to_next_frame", "b:dom", "b:frame"),
    ("dom_to_decoded", "b:dom", "b:decoded"),
    ("in_state_to_painted", "qr_notified", "b:frame"),
    ("click_to_painted", "b:click", "b:frame"),
]


def read_trace(path: Path) -> dict[str, dict]:
    """Server stamps by session id: the first of each hop (epoch ms), the tab emit's size."""
    by_session: dict[str, dict] = {}
    if not path.exists():
        return by_session
    for line in path.read_text().splitlines():
        try:
            item = json.loads(line)
        except ValueError:
            continue
        session = item.get("session")
        if not session:
            continue
        stamps = by_session.setdefault(session, {})
        hop = item["hop"]
        t = float(item.get("at") or item["t"]) * 1000
        if hop.startswith("emit"):
            if not item.get("linked"):
                stamps.setdefault(f"shared_{hop}", t)  # the feed's own token (no socket behind it)
                continue
            if hop == "emit_start":
                stamps.setdefault("emit_bytes", item.get("bytes"))
                stamps.setdefault("emit_vars", item.get("vars"))
        stamps.setdefault(hop, t)
    return by_session


def join(browser: dict, server: dict) -> dict[str, float]:
    """One run's hops (ms) from the page's `window.__hop` and the session's server stamps."""
    points: dict[str, float] = dict(server)
    t0 = browser.get("t0")
    if t0 is not None:
        points["b:click"] = t0
        sends = [s["t"] for s in browser.get("sends", []) if s["t"] >= t0]
        if sends:
            points["b:send"] = sends[0]
    if browser.get("qrFrames"):
        points["b:qr_frame"] = browser["qrFrames"][0]["t"]
    for key in ("dom", "frame", "decoded"):
        if browser.get(key) is not None:
            points[f"b:{key}"] = browser[key]
    row = {name: points[b] - points[a] for name, a, b in HOPS
           if isinstance(points.get(a), float) and isinstance(points.get(b), float)}
    if browser.get("qrFrames"):
        row["frame_bytes"] = float(browser["qrFrames"][0]["bytes"])
    if isinstance(server.get("emit_bytes"), int):
        row["emit_bytes"] = float(server["emit_bytes"])
    return row


def table(rows: list[dict[str, float]]) -> tuple[dict, dict]:
    names = [name for name, _, _ in HOPS] + ["emit_bytes", "frame_bytes"]
    data, out = {}, []
    for name in names:
        values = [r[name] for r in rows if name in r]
        if not values:
            continue
        stats = Stats.of(values)
        data[name] = stats.to_dict()
        out.append([name, len(values), f"{stats.p50:.1f}", f"{stats.p95:.1f}"])
    return {"columns": ["hop (ms; *_bytes: bytes)", "n", "p50", "p95"], "rows": out}, data
