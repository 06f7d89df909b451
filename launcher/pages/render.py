"""Server-rendered HTML for the login form, the Job Results page and the profile page.

Pure functions from plain data to HTML text: charts are inline SVG, there is no script from
outside (these machines have no internet), and every value is escaped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape
from typing import Any

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d2430;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center}
header a{color:#cfe3ff;text-decoration:none}
main{padding:20px 24px}
h1{font-size:20px;margin:0 0 16px}
table{border-collapse:collapse;background:#fff;width:100%;font-size:13px}
th,td{border-bottom:1px solid #e3e6ea;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eef1f4}
.st-Complete{color:#17803d;font-weight:600}.st-Failed{color:#c62828;font-weight:600}
.st-Canceled{color:#8a6d00;font-weight:600}.st-InProgress,.st-Pending,.st-Created{color:#1f5fbf;font-weight:600}
.cli{background:#e8eefc;border-radius:3px;padding:0 4px;font-size:11px}
.err{color:#c62828;max-width:320px;white-space:pre-wrap}
.cols{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:16px}
.card{background:#fff;border:1px solid #e3e6ea;border-radius:6px;padding:12px}
.card h2{font-size:15px;margin:0 0 4px}.type{color:#5b6675;font-size:12px}
dl{display:grid;grid-template-columns:auto 1fr;gap:2px 10px;font-size:12px;margin:8px 0 0}
dt{color:#5b6675}dd{margin:0}
.legend span{font-size:12px;margin-right:10px}
form{background:#fff;padding:20px;border:1px solid #e3e6ea;border-radius:6px;max-width:420px}
input[type=password]{width:100%;padding:6px;margin:8px 0}
.note{color:#5b6675;font-size:12px}
"""

VALID, INVALID, EMPTY = "#2e9e55", "#d64541", "#b8bec6"


def _page(title: str, body: str, refresh: int | None = None, user: str | None = None) -> str:
    meta = f'<meta http-equiv="refresh" content="{refresh}">' if refresh else ""
    nav = (
        f'<a href="/jobs">Job Results</a><span style="margin-left:auto">{escape(user)}</span>'
        f'<a href="/logout">Log out</a>'
        if user
        else ""
    )
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<title>{escape(title)}</title>{meta}<style>{_CSS}</style></head>"
        f"<body><header><strong>Job groups</strong>{nav}</header><main>{body}</main></body></html>"
    )


def login_page(error: str | None = None, next_url: str = "/jobs") -> str:
    msg = f'<p class="err" role="alert">{escape(error)}</p>' if error else ""
    body = (
        "<h1>Log in</h1>"
        '<form method="post" action="/login">'
        f"{msg}"
        '<label for="token">API access token</label>'
        '<input type="password" id="token" name="token" autocomplete="off" required>'
        f'<input type="hidden" name="next" value="{escape(next_url)}">'
        '<button type="submit">Log in</button>'
        '<p class="note">Get a token with <code>launcher tokens create NAME</code> '
        "or <code>POST /v4/apiAccessTokens</code>.</p></form>"
    )
    return _page("Log in", body)


@dataclass
class JobRow:
    id: int
    dataset: str
    environment: str
    status: str
    user: str
    ranfrom: str | None
    started: str | None
    duration: str | None
    error: str | None
    outputs: list[str] = field(default_factory=list)
    profiled: bool = False


def job_results_page(rows: list[JobRow], user: str) -> str:
    running = any(r.status in ("Created", "Pending", "InProgress") for r in rows)
    head = (
        "<tr><th>Job</th><th>Dataset</th><th>Environment</th><th>Status</th><th>Ran by</th>"
        "<th>Started</th><th>Duration</th><th>Outputs</th><th>Profile</th><th>Error</th></tr>"
    )
    body_rows = []
    for r in rows:
        src = ' <span class="cli" title="run from the command line">CLI</span>' if r.ranfrom == "cli" else ""
        outs = "<br>".join(escape(o) for o in r.outputs) or "—"
        prof = f'<a href="/jobGroups/{r.id}/profile">profile</a>' if r.profiled else "—"
        body_rows.append(
            f'<tr data-jobgroup="{r.id}"><td>{r.id}{src}</td><td>{escape(r.dataset)}</td>'
            f"<td>{escape(r.environment)}</td>"
            f'<td class="st-{escape(r.status)}" data-status>{escape(r.status)}</td>'
            f"<td>{escape(r.user)}</td><td>{escape(r.started or '—')}</td>"
            f"<td>{escape(r.duration or '—')}</td><td>{outs}</td><td>{prof}</td>"
            f'<td class="err">{escape(r.error or "")}</td></tr>'
        )
    empty = '<tr><td colspan="10">No jobs yet. Run one with <code>launcher run BODY.json</code>.</td></tr>'
    note = '<p class="note">Refreshing every 3 s while jobs run.</p>' if running else ""
    body = f"<h1>Job Results</h1>{note}<table>{head}{''.join(body_rows) or empty}</table>"
    return _page("Job Results", body, refresh=3 if running else None, user=user)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.6g}" if abs(v) < 1e9 else f"{v:,.0f}"
    if isinstance(v, int):
        return f"{v:,}"
    return "—" if v is None else str(v)


def _quality_bar(checks: dict[str, int]) -> str:
    total = sum(checks.values()) or 1
    x, parts = 0.0, []
    for key, color in (("VALID", VALID), ("INVALID", INVALID), ("EMPTY", EMPTY)):
        w = 300 * checks.get(key, 0) / total
        if w:
            parts.append(
                f'<rect x="{x:.2f}" y="0" width="{w:.2f}" height="12" fill="{color}">'
                f"<title>{key}: {checks.get(key, 0)}</title></rect>"
            )
        x += w
    legend = "".join(
        f'<span data-check="{k}"><b style="color:{c}">■</b> {k.lower()} {_fmt(checks.get(k, 0))}</span>'
        for k, c in (("VALID", VALID), ("INVALID", INVALID), ("EMPTY", EMPTY))
    )
    return f'<svg width="300" height="12" role="img" aria-label="data quality">{"".join(parts)}</svg><div class="legend">{legend}</div>'


def _bars(values: list[tuple[str, int]], horizontal: bool) -> str:
    if not values:
        return '<p class="note">No values.</p>'
    peak = max(n for _, n in values) or 1
    if horizontal:  # top values: one labelled row each
        h = 16 * len(values)
        rows = "".join(
            f'<g transform="translate(0,{i * 16})"><text x="0" y="11" font-size="11">{escape(k[:24])}</text>'
            f'<rect x="130" y="2" width="{150 * n / peak:.2f}" height="11" fill="#4a7fd6"><title>{escape(k)}: {n}</title></rect>'
            f'<text x="{134 + 150 * n / peak:.2f}" y="11" font-size="10">{n}</text></g>'
            for i, (k, n) in enumerate(values)
        )
        return f'<svg width="330" height="{h}" role="img" aria-label="top values">{rows}</svg>'
    w = 320 / len(values)
    rects = "".join(
        f'<rect x="{i * w:.2f}" y="{80 - 78 * n / peak:.2f}" width="{max(w - 1, 1):.2f}" '
        f'height="{78 * n / peak:.2f}" fill="#4a7fd6"><title>{escape(k)}: {n}</title></rect>'
        for i, (k, n) in enumerate(values)
    )
    return f'<svg width="320" height="80" role="img" aria-label="histogram">{rects}</svg>'


def profile_page(job_group_id: int, dataset: str, profile: dict[str, Any], user: str) -> str:
    cards = []
    types = profile.get("columnTypes", {})
    for col, ctype in types.items():
        checks = {e["key"]: e["count"] for e in profile["profilerTypeCheckHistograms"].get(col, [])}
        vv = profile["profilerValidValueHistograms"].get(col, {})
        stats = []
        if "buckets" in vv:
            chart = _bars([(f'{b["low"]} – {b["high"]}', b["count"]) for b in vv["buckets"]], horizontal=False)
            q = vv.get("quartiles") or []
            stats = [("min", vv.get("min")), ("max", vv.get("max")), ("mean", vv.get("mean")),
                     ("std dev", vv.get("stddev"))]
            stats += [(label, q[i] if i < len(q) else None) for i, label in enumerate(("25%", "median", "75%"))]
        else:
            chart = _bars([(t["key"], t["count"]) for t in vv.get("topk", [])], horizontal=True)
        # Exact for text and other non-number columns, a HyperLogLog++ estimate for the others.
        stats.append(("distinct ≈" if vv.get("distinctApproximate", True) else "distinct", vv.get("distinct")))
        dl = "".join(f'<dt>{escape(k)}</dt><dd data-stat="{escape(k)}">{escape(_fmt(v))}</dd>' for k, v in stats)
        cards.append(
            f'<section class="card" data-column="{escape(col)}"><h2>{escape(col)}</h2>'
            f'<div class="type">{escape(", ".join(ctype))}</div>{_quality_bar(checks)}{chart}<dl>{dl}</dl></section>'
        )
    first = next(iter(profile.get("profilerTypeCheckHistograms", {}).values()), [])
    rows = sum(e["count"] for e in first)
    body = (
        f"<h1>Profile of job group {job_group_id}: {escape(dataset)}</h1>"
        f'<p class="note">{_fmt(rows)} rows. Distinct counts marked ≈ are estimates (HyperLogLog++, '
        "about 5% off at most times); quartiles are read off 100 histogram buckets (within 1% of "
        "the range).</p>"
        f'<div class="cols">{"".join(cards)}</div>'
    )
    return _page(f"Profile {job_group_id}", body, user=user)


def message_page(title: str, text: str, user: str) -> str:
    return _page(title, f'<h1>{escape(title)}</h1><p role="alert">{escape(text)}</p>'
                 '<p><a href="/jobs">Back to Job Results</a></p>', user=user)
