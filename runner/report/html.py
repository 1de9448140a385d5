"""The HTML report (SPEC §6): one self-contained page, readable in any browser.

Everything is inline: the CSS, a few lines of JavaScript (the "failures only" filter and
expand/collapse all) and no URL of any kind that a browser would fetch; a Content Security
Policy forbids fetches besides. The page reads fine with JavaScript off: all the content
is in the HTML, request and response details are plain ``<details>`` elements.

Layout: the summary first (verdict, counts, duration, when, interruption, load errors,
collections), then every failure with its YAML line and a link to its step, then each
collection and each step. Every text taken from the results passes through the redactor
once more and is HTML-escaped.

Stable hooks for tests and styling: ``#summary``, ``#verdict``, ``#count-passed``,
``#count-failed``, ``#count-skipped``, ``#count-error`` (each with a ``.num``),
``#total-duration``, ``#started-at``, ``#interrupted``, ``#load-errors``, ``#collections``,
``#failures`` (``.failure-entry`` items linking to their step), ``#failures-only``,
``#expand-all``, ``#collapse-all``; ``section.collection`` (``id="c1"``…,
``data-has-failures``) holding ``article.step`` (``id="c1-s1"``…, ``data-outcome``), each
with ``.failure`` items and ``details.request`` / ``details.response``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import itertools
import json
import re
from collections.abc import Iterator
from string import Template

from ..location import Location
from ..redaction import Redactor
from ..results import (
    ERROR,
    FAILED,
    MAIN,
    PASSED,
    SETUP,
    SKIPPED,
    TEARDOWN,
    CollectionResult,
    Failure,
    RequestInfo,
    ResponseInfo,
    RunResult,
    StepResult,
)

BODY_LIMIT = 20_000
"""Bodies longer than this many characters are cut, with a note saying so."""

_LABELS = {PASSED: "passed", FAILED: "failed", SKIPPED: "skipped", ERROR: "error"}
_UNSAFE = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\ud800-\udfff]")

_CSS = """\
:root {
  color-scheme: light dark;
  --bg: #f5f6f8; --fg: #1c2128; --muted: #59636e; --card: #ffffff; --border: #d5dae0;
  --code-bg: #f0f2f5; --accent: #0969da;
  --passed: #1a7f37; --passed-bg: #dcf5e3;
  --failed: #cf222e; --failed-bg: #ffebe9;
  --error: #8250df; --error-bg: #f3edff;
  --skipped: #6e7781; --skipped-bg: #eceff2;
  --mono: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "Liberation Mono",
    monospace;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #0d1117; --fg: #e6edf3; --muted: #9198a1; --card: #161b22; --border: #30363d;
    --code-bg: #1f2630; --accent: #4493f8;
    --passed: #3fb950; --passed-bg: rgba(46, 160, 67, 0.16);
    --failed: #ff6b63; --failed-bg: rgba(248, 81, 73, 0.16);
    --error: #bc8cff; --error-bg: rgba(163, 113, 247, 0.16);
    --skipped: #9198a1; --skipped-bg: rgba(110, 118, 129, 0.2);
  }
}
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body {
  margin: 0; background: var(--bg); color: var(--fg); line-height: 1.45;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
    sans-serif;
}
main { max-width: 1200px; margin: 0 auto; padding: 1rem clamp(0.6rem, 3vw, 2rem) 3rem; }
h1 { font-size: 1.5rem; margin: 0.4rem 0 0.2rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 0.6rem; }
h3 { font-size: 1rem; margin: 0; }
h4 { font-size: 0.8rem; margin: 0.8rem 0 0.3rem; color: var(--muted);
  text-transform: uppercase; letter-spacing: 0.04em; }
a { color: var(--accent); }
code, pre, .mono { font-family: var(--mono); font-size: 0.85rem; }
pre {
  margin: 0; padding: 0.6rem 0.75rem; background: var(--code-bg); border-radius: 6px;
  white-space: pre-wrap; overflow-wrap: anywhere; max-height: 32rem; overflow: auto;
}
.muted { color: var(--muted); }
.meta-line { color: var(--muted); margin: 0; display: flex; flex-wrap: wrap; gap: 0.2rem 1.2rem; }
.verdict {
  display: inline-block; margin: 0.6rem 0 0; padding: 0.3rem 0.8rem; border-radius: 999px;
  font-weight: 700;
}
.verdict.ok { background: var(--passed-bg); color: var(--passed); }
.verdict.bad { background: var(--failed-bg); color: var(--failed); }
.tiles {
  display: grid; grid-template-columns: repeat(auto-fit, minmax(7.5rem, 1fr)); gap: 0.6rem;
  margin: 1rem 0;
}
.tile {
  background: var(--card); border: 1px solid var(--border); border-top: 4px solid var(--c);
  border-radius: 8px; padding: 0.6rem 0.8rem;
}
.tile .num { display: block; font-size: 1.9rem; font-weight: 700; color: var(--c);
  line-height: 1.1; font-variant-numeric: tabular-nums; }
.tile .label { color: var(--muted); font-size: 0.85rem; }
.tile.zero .num { color: var(--muted); opacity: 0.6; }
.tile.passed { --c: var(--passed); } .tile.failed { --c: var(--failed); }
.tile.error { --c: var(--error); } .tile.skipped { --c: var(--skipped); }
.tile.total { --c: var(--fg); }
.alert {
  border: 1px solid var(--failed); border-left-width: 6px; background: var(--failed-bg);
  border-radius: 8px; padding: 0.7rem 1rem; margin: 1rem 0;
}
.alert h2, .alert h3 { margin: 0 0 0.4rem; color: var(--failed); font-size: 1.05rem; }
.alert p { margin: 0.2rem 0; }
.alert ul { margin: 0.4rem 0 0; padding: 0; list-style: none; display: grid; gap: 0.4rem; }
.alert pre { background: var(--card); }
.table-wrap { overflow-x: auto; background: var(--card); border: 1px solid var(--border);
  border-radius: 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 0.4rem 0.7rem; border-bottom: 1px solid var(--border);
  vertical-align: top; }
tr:last-child > th, tr:last-child > td { border-bottom: 0; }
thead th { font-size: 0.8rem; color: var(--muted); font-weight: 600; white-space: nowrap; }
th.n, td.n { text-align: right; font-variant-numeric: tabular-nums; }
td.n.hit-failed { color: var(--failed); font-weight: 700; }
td.n.hit-error { color: var(--error); font-weight: 700; }
.kv th { width: 1%; white-space: nowrap; font-family: var(--mono); font-size: 0.8rem;
  font-weight: 600; }
.kv td { font-family: var(--mono); font-size: 0.8rem; overflow-wrap: anywhere; }
.timeline { margin: 0.4rem 0 0.8rem; }
.timeline svg { display: block; width: 100%; height: 1.4rem; border-radius: 4px;
  background: var(--skipped-bg); }
.timeline rect { fill: var(--c); }
.timeline figcaption { font-size: 0.8rem; color: var(--muted); }
.badge {
  display: inline-block; min-width: 4.6rem; text-align: center; padding: 0.1rem 0.5rem;
  border-radius: 999px; font-size: 0.72rem; font-weight: 700; letter-spacing: 0.05em;
  text-transform: uppercase; color: #fff; background: var(--c); flex: none;
}
.passed { --c: var(--passed); --c-bg: var(--passed-bg); }
.failed { --c: var(--failed); --c-bg: var(--failed-bg); }
.error { --c: var(--error); --c-bg: var(--error-bg); }
.skipped { --c: var(--skipped); --c-bg: var(--skipped-bg); }
@media (prefers-color-scheme: dark) { .badge { color: #0d1117; } }
#failures ol { margin: 0; padding: 0; list-style: none; display: grid; gap: 0.5rem; }
.failure-entry {
  background: var(--card); border: 1px solid var(--border); border-left: 5px solid var(--c);
  border-radius: 8px; padding: 0.5rem 0.8rem;
}
.failure-entry .where { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem; }
.failure-entry .where a { font-weight: 600; }
.failure-entry p { margin: 0.25rem 0 0; overflow-wrap: anywhere; }
.none-left { color: var(--passed); font-weight: 600; }
.toolbar {
  position: sticky; top: 0; z-index: 2; display: flex; flex-wrap: wrap; gap: 0.5rem 1rem;
  align-items: center; margin: 1.5rem 0 0; padding: 0.5rem 0.8rem; background: var(--card);
  border: 1px solid var(--border); border-radius: 8px;
}
.toolbar[hidden] { display: none; }
.toolbar label { display: inline-flex; gap: 0.4rem; align-items: center; font-weight: 600;
  cursor: pointer; }
.toolbar input { width: 1.1rem; height: 1.1rem; margin: 0; accent-color: var(--failed); }
.toolbar button {
  font: inherit; font-size: 0.85rem; padding: 0.2rem 0.7rem; border-radius: 6px;
  border: 1px solid var(--border); background: var(--bg); color: var(--fg); cursor: pointer;
}
.collection > header { margin: 2rem 0 0.6rem; }
.collection > header h2 { margin: 0; overflow-wrap: anywhere; }
.collection > header p { margin: 0.1rem 0 0; color: var(--muted); font-size: 0.9rem; }
.steps { display: grid; gap: 0.6rem; }
.step {
  background: var(--card); border: 1px solid var(--border); border-left: 5px solid var(--c);
  border-radius: 8px; overflow: hidden; scroll-margin-top: 4rem;
}
.step:target { outline: 3px solid var(--accent); outline-offset: 2px; }
.step-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: 0.3rem 0.7rem;
  padding: 0.55rem 0.8rem; }
.step.failed .step-head, .step.error .step-head { background: var(--c-bg); }
.step-head h3 { flex: 1 1 10rem; min-width: 0; overflow-wrap: anywhere; }
.facts { display: flex; flex-wrap: wrap; gap: 0.2rem 0.9rem; color: var(--muted);
  font-size: 0.85rem; align-items: baseline; margin-left: auto; }
.request-line { flex: 1 1 100%; min-width: 0; overflow-wrap: anywhere; font-size: 0.85rem; }
.method { font-weight: 700; }
.status { font-weight: 600; }
.status.passed { color: var(--passed); }
.status.failed, .status.error { color: var(--failed); }
.step-body { padding: 0 0.8rem 0.6rem; }
.step-body > :first-child { margin-top: 0.6rem; }
.skip-reason { margin: 0.5rem 0 0; color: var(--muted); }
.failures { list-style: none; margin: 0.6rem 0 0; padding: 0; display: grid; gap: 0.5rem; }
.failure { border: 1px solid var(--c); border-radius: 6px; padding: 0.5rem 0.7rem; }
.failure-head { display: flex; flex-wrap: wrap; gap: 0.3rem 0.8rem; align-items: baseline; }
.check { font-weight: 700; color: var(--c); }
.location { color: var(--muted); }
.message { margin: 0.3rem 0 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.expected-actual { display: grid; grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr));
  gap: 0.5rem; margin-top: 0.5rem; }
.expected-actual h4 { margin: 0 0 0.2rem; }
details { margin-top: 0.5rem; border: 1px solid var(--border); border-radius: 6px; }
details > summary { cursor: pointer; padding: 0.35rem 0.7rem; font-weight: 600;
  font-size: 0.9rem; overflow-wrap: anywhere; }
details > summary .muted { font-weight: 400; }
details.group { border-style: dashed; padding: 0 0.5rem 0.5rem; }
h3.phase { margin: 1rem 0 0.3rem; font-size: 1rem; }
details[open] > summary { border-bottom: 1px solid var(--border); }
details > .inner { padding: 0 0.7rem 0.7rem; }
.note { font-size: 0.85rem; color: var(--muted); margin: 0.3rem 0 0; }
.failures-only .step.passed, .failures-only .step.skipped,
.failures-only .collection[data-has-failures="false"] { display: none; }
footer { margin-top: 3rem; color: var(--muted); font-size: 0.85rem; }
@media (max-width: 600px) {
  body { font-size: 14px; }
  .tile .num { font-size: 1.5rem; }
  .badge { min-width: 0; }
  .tiles { grid-template-columns: repeat(5, minmax(0, 1fr)); gap: 0.35rem; }
  .tile { padding: 0.35rem 0.4rem; border-top-width: 3px; }
  .tile .num { font-size: 1.3rem; }
  .tile .label { font-size: 0.7rem; }
  .col-file { display: none; }
  th, td { padding: 0.35rem 0.5rem; }
}
@media print {
  .toolbar { display: none; }
  .step, .tile, .failure-entry { break-inside: avoid; }
  pre { max-height: none; }
}
"""

_JS = """\
(function () {
  "use strict";
  var root = document.documentElement;
  var toolbar = document.getElementById("toolbar");
  var box = document.getElementById("failures-only");
  if (!toolbar || !box) { return; }
  toolbar.hidden = false;
  function applyFilter() { root.classList.toggle("failures-only", box.checked); }
  box.addEventListener("change", applyFilter);
  applyFilter();
  function setAll(open) {
    var all = document.querySelectorAll("main details");
    for (var i = 0; i < all.length; i++) {
      if (all[i].offsetParent !== null || !open) { all[i].open = open; }
    }
  }
  document.getElementById("expand-all").addEventListener("click", function () {
    setAll(true);
  });
  document.getElementById("collapse-all").addEventListener("click", function () {
    setAll(false);
  });
})();
"""


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


_CSP = (
    "default-src 'none'; "
    f"style-src {_csp_hash(_CSS)}; "
    f"script-src {_csp_hash(_JS)}; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)

_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta http-equiv="Content-Security-Policy" content="$csp">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>$title</title>
<style>$css</style>
</head>
<body>
<main>
$summary
$failures
<div class="toolbar" id="toolbar" hidden>
<label><input type="checkbox" id="failures-only"> Failures only</label>
<button type="button" id="expand-all">Expand all</button>
<button type="button" id="collapse-all">Collapse all</button>
</div>
<div id="results">
$collections
</div>
<footer>Generated by apirun.</footer>
</main>
<script>$js</script>
</body>
</html>
"""


_TIMELINE_BARS = 200
"""At most this many bars in a collection's timeline (a long run shares them)."""
_SEVERITY = (ERROR, FAILED, SKIPPED, PASSED)


def _severity(outcome: str) -> int:
    return _SEVERITY.index(outcome) if outcome in _SEVERITY else 0


_PHASE_TITLES = {SETUP: "Setup", MAIN: "Steps", TEARDOWN: "Teardown"}


def _group(step: StepResult) -> str | None:
    """What a result is folded under: its outermost include or its loop, else nothing."""
    if step.depth > 0:
        return step.name.split(" / ", 1)[0].rsplit(" [", 1)[0]
    if step.iteration is not None:
        return step.name.rsplit(" [", 1)[0]
    return None


def _duration(ms: float) -> str:
    if ms < 10:
        return f"{ms:.1f} ms"
    if ms < 1000:
        return f"{ms:.0f} ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.2f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def _size(n: int) -> str:
    if n < 1000:
        return f"{n} B"
    if n < 1_000_000:
        return f"{n / 1000:.1f} kB"
    return f"{n / 1_000_000:.1f} MB"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _pretty(body: str) -> str:
    """Indent a JSON document (an object or an array); any other text is returned as is."""
    try:
        data = json.loads(body)
        if not isinstance(data, (dict, list)):
            return body
        return json.dumps(data, indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return body


class _Renderer:
    """Builds the page; :meth:`t` is the only way result text gets into it."""

    def __init__(self, run: RunResult, redactor: Redactor) -> None:
        self.run = run
        self.redactor = redactor

    def t(self, text: str) -> str:
        """Redact, drop characters HTML cannot carry, escape."""
        return html.escape(_UNSAFE.sub("\ufffd", self.redactor(text)), quote=True)

    def where(self, location: Location | None) -> str:
        if location is None:
            return ""
        return f'<code class="location">{self.t(location.short)}</code>'

    # -- page ------------------------------------------------------------------------

    def page(self) -> Iterator[str]:
        """The document in pieces — the head, then a step at a time — so a long run's
        report never sits whole in memory."""
        s = self.run.summary
        problems = s.failed + s.errors + len(self.run.load_errors)
        status = "failed" if problems or self.run.interrupted else "passed"
        title = f"apirun report: {status}"
        if problems:
            title = f"apirun report: {problems} problem{'s' if problems != 1 else ''}"
        head, tail = _PAGE.split("$collections")
        yield Template(head).substitute(
            csp=_CSP,
            title=html.escape(title),
            css=_CSS,
            summary=self.summary(),
            failures=self.failures_section(),
        )
        for i, c in enumerate(self.run.collections, 1):
            yield from self.collection(i, c)
        yield Template(tail).substitute(js=_JS)

    def summary(self) -> str:
        run, s = self.run, self.run.summary
        ok = s.ok and not run.load_errors and not run.interrupted
        if ok:
            verdict = f"Passed: {s.passed} passed" + (f", {s.skipped} skipped" if s.skipped else "")
            if s.total == 0:
                verdict = "Nothing ran"
        else:
            parts = []
            if s.failed:
                parts.append(f"{s.failed} failed")
            if s.errors:
                parts.append(_plural(s.errors, "error"))
            if run.load_errors:
                parts.append(_plural(len(run.load_errors), "load error"))
            if run.interrupted:
                parts.append("interrupted")
            verdict = "Failed: " + ", ".join(parts)
        out = [
            '<section id="summary">',
            "<h1>apirun report</h1>",
            '<p class="meta-line">',
        ]
        if run.started_at:
            when = self.t(run.started_at)
            out.append(
                f'<span>Started <time id="started-at" datetime="{when}">{when}</time></span>'
            )
        out.append(
            f'<span>Duration <strong id="total-duration">{_duration(s.duration_ms)}</strong></span>'
        )
        out.append(
            f"<span>{_plural(len(run.collections), 'collection')}, "
            f"{_plural(s.total, 'step')}</span>"
        )
        out.append("</p>")
        out.append(f'<p id="verdict" class="verdict {"ok" if ok else "bad"}">{verdict}</p>')
        if run.interrupted:
            out.append(
                '<div id="interrupted" class="alert" role="alert"><h2>Run interrupted</h2>'
                f"<p>Stopped by {self.t(run.interrupted)}: the steps that had not run yet "
                "are missing, the results below are partial.</p></div>"
            )
        if run.load_errors:
            out.append('<div id="load-errors" class="alert" role="alert">')
            out.append(f"<h2>{_plural(len(run.load_errors), 'load error')}</h2>")
            out.append("<p>These inputs could not be loaded; none of their steps ran.</p><ul>")
            out.extend(f"<li><pre>{self.t(e)}</pre></li>" for e in run.load_errors)
            out.append("</ul></div>")
        out.append('<div class="tiles">')
        tiles = (
            ("passed", "passed", s.passed),
            ("failed", "failed", s.failed),
            ("error", "errors", s.errors),
            ("skipped", "skipped", s.skipped),
        )
        for key, label, n in tiles:
            zero = " zero" if n == 0 else ""
            out.append(
                f'<div class="tile {key}{zero}" id="count-{key}">'
                f'<span class="num">{n}</span><span class="label">{label}</span></div>'
            )
        out.append(
            f'<div class="tile total" id="count-total"><span class="num">{s.total}</span>'
            '<span class="label">total</span></div>'
        )
        out.append("</div>")
        out.append(self.collections_table())
        out.append("</section>")
        return "\n".join(out)

    def collections_table(self) -> str:
        if not self.run.collections:
            return '<p id="collections" class="muted">No collection ran.</p>'
        out = [
            '<div class="table-wrap"><table id="collections">',
            '<thead><tr><th>Collection</th><th class="col-file">File</th>'
            '<th class="n">Passed</th><th class="n">Failed</th><th class="n">Errors</th>'
            '<th class="n">Skipped</th><th class="n">Duration</th></tr></thead><tbody>',
        ]
        for i, c in enumerate(self.run.collections, 1):
            cells = [
                f'<td><a href="#c{i}">{self.t(c.name)}</a></td>',
                f'<td class="mono col-file">{self.t(c.file)}</td>',
            ]
            for outcome in (PASSED, FAILED, ERROR, SKIPPED):
                n = c.count(outcome)
                hit = f" hit-{outcome}" if n and outcome in (FAILED, ERROR) else ""
                cells.append(f'<td class="n{hit}">{n}</td>')
            cells.append(f'<td class="n">{_duration(c.duration_ms)}</td>')
            out.append("<tr>" + "".join(cells) + "</tr>")
        out.append("</tbody></table></div>")
        return "\n".join(out)

    # -- the failures, all together ------------------------------------------------------

    def failures_section(self) -> str:
        entries: list[str] = []
        for i, c in enumerate(self.run.collections, 1):
            for error in c.errors:
                entries.append(
                    '<li class="failure-entry error"><div class="where">'
                    '<span class="badge">error</span>'
                    f'<a href="#c{i}">{self.t(c.name)}</a></div>'
                    f'<p class="message">{self.t(error)}</p></li>'
                )
            for j, step in enumerate(c.steps, 1):
                if step.outcome not in (FAILED, ERROR):
                    continue
                failures = step.failures or (Failure(step.outcome, f"step {step.outcome}"),)
                for f in failures:
                    entries.append(self.failure_entry(f"c{i}-s{j}", c, step, f))
        out = ['<section id="failures">', f"<h2>Failures ({len(entries)})</h2>"]
        if entries:
            out.append("<ol>")
            out.extend(entries)
            out.append("</ol>")
        else:
            out.append('<p class="none-left">No failures.</p>')
        out.append("</section>")
        return "\n".join(out)

    def failure_entry(self, anchor: str, c: CollectionResult, step: StepResult, f: Failure) -> str:
        location = self.where(f.location or step.location)
        return (
            f'<li class="failure-entry {step.outcome}"><div class="where">'
            f'<span class="badge">{_LABELS[step.outcome]}</span>'
            f'<a href="#{anchor}">{self.t(c.name)} &rsaquo; {self.t(step.name)}</a>{location}</div>'
            f'<p><span class="check">{self.t(f.check)}</span>: {self.t(f.message)}</p></li>'
        )

    # -- collections and steps -------------------------------------------------------------

    def collection(self, i: int, c: CollectionResult) -> Iterator[str]:
        counts = [
            _plural(c.count(o), "error") if o == ERROR else f"{c.count(o)} {_LABELS[o]}"
            for o in (PASSED, FAILED, ERROR, SKIPPED)
            if c.count(o)
        ]
        has_failures = bool(c.errors or c.count(FAILED) or c.count(ERROR))  # tallies: no pass
        out = [
            f'<section class="collection" id="c{i}" '
            f'data-has-failures="{"true" if has_failures else "false"}">',
            f"<header><h2>{self.t(c.name)}</h2>",
            f'<p><span class="mono">{self.t(c.file)}</span> · '
            f"{', '.join(counts) or 'no steps'} · {_duration(c.duration_ms)}</p></header>",
        ]
        if c.interrupted:
            out.append(
                '<div class="alert" role="alert"><p>Interrupted: '
                "the steps of this collection that had not run yet are missing.</p></div>"
            )
        if c.errors:
            out.append('<div class="alert" role="alert"><h3>Errors</h3><ul>')
            out.extend(f"<li><pre>{self.t(e)}</pre></li>" for e in c.errors)
            out.append("</ul></div>")
        out.append(self.timeline(i, c))
        out.append('<div class="steps">')
        yield "\n".join(out) + "\n"
        for piece in self.grouped(i, c):
            yield piece + "\n"
        yield "</div></section>\n"

    def timeline(self, i: int, c: CollectionResult) -> str:
        """Where the collection's time went: one bar per step, as long as the step took
        and coloured by its outcome, each named in its tooltip; past ``_TIMELINE_BARS``
        steps, neighbours share a bar (its worst outcome, their summed time)."""
        durations = [(s.duration_ms, s.outcome, s.name) for s in c.steps]
        total = sum(d for d, _, _ in durations)
        if not durations or total <= 0:
            return ""
        size = -(-len(durations) // _TIMELINE_BARS)  # steps per bar
        bars, at = [], 0.0
        for k in range(0, len(durations), size):
            chunk = durations[k : k + size]
            took = sum(d for d, _, _ in chunk)
            worst = min((o for _, o, _ in chunk), key=_severity)
            names = chunk[0][2] if len(chunk) == 1 else f"steps {k + 1} to {k + len(chunk)}"
            x, width = 1000 * at / total, max(1000 * took / total, 0.5)
            bars.append(
                f'<rect class="{worst if worst in _LABELS else ERROR}" x="{x:.1f}" y="0" '
                f'width="{width:.1f}" height="10"><title>{self.t(names)} · '
                f"{_LABELS.get(worst, worst)} · {_duration(took)}</title></rect>"
            )
            at += took
        return (
            f'<figure class="timeline" id="c{i}-timeline">'
            '<svg viewBox="0 0 1000 10" preserveAspectRatio="none" role="img" '
            f'aria-label="Step durations of {self.t(c.name)}">{"".join(bars)}</svg>'
            f"<figcaption>Timeline: {_plural(len(durations), 'step')} in "
            f"{_duration(total)}, one after another (hover a bar for its step)</figcaption>"
            "</figure>"
        )

    def grouped(self, i: int, c: CollectionResult) -> Iterator[str]:
        """Steps by phase (when there is more than the main one), and the results of one
        include or one loop folded under a summary, open when one of them failed."""
        phased = any(s.phase != MAIN for s in c.steps)
        steps = enumerate(c.steps, 1)
        for phase, in_phase in itertools.groupby(steps, key=lambda js: js[1].phase):
            if phased:
                yield f'<h3 class="phase">{_PHASE_TITLES.get(phase, self.t(phase))}</h3>'
            for group, run in itertools.groupby(in_phase, key=lambda js: _group(js[1])):
                if group is None:
                    yield from (self.step(f"c{i}-s{j}", s) for j, s in run)
                    continue
                members = list(run)  # the summary line counts them before they are shown
                results = [s for _, s in members]
                failed = any(s.outcome in (FAILED, ERROR) for s in results)
                counts = ", ".join(
                    f"{n} {_LABELS[o]}"
                    for o in (PASSED, FAILED, ERROR, SKIPPED)
                    if (n := sum(1 for s in results if s.outcome == o))
                )
                yield (
                    f'<details class="group"{" open" if failed else ""}>'
                    f"<summary>{self.t(group)} "
                    f'<span class="muted">{_plural(len(results), "result")}: {counts}</span>'
                    "</summary>"
                )
                yield from (self.step(f"c{i}-s{j}", s) for j, s in members)
                yield "</details>"

    def step(self, anchor: str, step: StepResult) -> str:
        outcome = step.outcome if step.outcome in _LABELS else ERROR
        facts: list[str] = []
        if step.response is not None:
            r = step.response
            reason = f" {self.t(r.reason)}" if r.reason else ""
            facts.append(f'<span class="status {outcome}">{r.status}{reason}</span>')
        elif step.request is not None and not step.request.sent:
            facts.append('<span class="status">not sent</span>')
        elif step.request is not None and outcome == ERROR:
            facts.append('<span class="status">no response</span>')
        if outcome != SKIPPED or step.duration_ms:
            facts.append(f'<span class="duration">{_duration(step.duration_ms)}</span>')
        if step.attempts > 1:
            facts.append(f'<span class="attempts">{step.attempts} attempts</span>')
        if step.location is not None:
            facts.append(self.where(step.location))
        out = [
            f'<article class="step {outcome}" id="{anchor}" data-outcome="{outcome}">',
            '<div class="step-head">',
            f'<span class="badge">{_LABELS[outcome]}</span>',
            f'<h3 class="step-name">{self.t(step.name)}</h3>',
            f'<div class="facts">{"".join(facts)}</div>',
        ]
        if step.request is not None:
            out.append(
                '<div class="request-line"><code class="method">'
                f"{self.t(step.request.method)}</code> "
                f'<code class="url">{self.t(step.request.url)}</code></div>'
            )
        out.append("</div>")
        body: list[str] = []
        if outcome == SKIPPED:
            reason = self.t(step.skip_reason) if step.skip_reason else "no reason given"
            body.append(f'<p class="skip-reason">Skipped: {reason}</p>')
        if step.failures:
            body.append('<ul class="failures">')
            body.extend(self.failure(f) for f in step.failures)
            body.append("</ul>")
        if step.request is not None and step.request.sent:
            body.append(self.request(step.request))
        if step.response is not None:
            body.append(self.response(step.response))
        if step.captured:
            body.append(
                f'<details class="captured"><summary>Captured '
                f'<span class="muted">({len(step.captured)})</span></summary>'
                f'<div class="inner">{self.table(step.captured, headers=False)}</div></details>'
            )
        if body:
            out.append('<div class="step-body">' + "\n".join(body) + "</div>")
        out.append("</article>")
        return "\n".join(out)

    def failure(self, f: Failure) -> str:
        out = [
            '<li class="failure"><div class="failure-head">',
            f'<span class="check">{self.t(f.check)}</span>{self.where(f.location)}</div>',
            f'<p class="message">{self.t(f.message)}</p>',
        ]
        if f.expected is not None or f.actual is not None:
            out.append('<div class="expected-actual">')
            for label, value in (("expected", f.expected), ("actual", f.actual)):
                shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                out.append(f'<div class="{label}"><h4>{label}</h4><pre>{self.t(shown)}</pre></div>')
            out.append("</div>")
        out.append("</li>")
        return "".join(out)

    # -- request and response details -------------------------------------------------------

    def table(self, rows: tuple[tuple[str, str], ...], headers: bool) -> str:
        if not rows:
            return '<p class="note">No headers.</p>' if headers else ""
        cells = []
        for name, value in rows:
            shown = self.redactor.header_value(name, value) if headers else value
            cells.append(f"<tr><th>{self.t(name)}</th><td>{self.t(shown)}</td></tr>")
        return '<div class="table-wrap"><table class="kv">' + "".join(cells) + "</table></div>"

    def body(self, body: str | None, size: int) -> str:
        if body is None:
            if size:
                return f'<p class="note">Body not kept ({_size(size)}).</p>'
            return '<p class="note">No body.</p>'
        if body == "":
            return '<p class="note">Empty body.</p>'
        text = self.redactor(_pretty(body))
        note = ""
        if len(text) > BODY_LIMIT:
            note = (
                f'<p class="note">Truncated: showing the first {BODY_LIMIT:,} of '
                f"{len(text):,} characters.</p>"
            )
            text = text[:BODY_LIMIT]
        return f'<pre class="body">{self.t(text)}</pre>{note}'

    def request(self, r: RequestInfo) -> str:
        extra = [_plural(len(r.headers), "header")]
        if r.body is not None or r.body_size:
            extra.append(f"body {_size(r.body_size or len(r.body or ''))}")
        return (
            '<details class="request"><summary>Request '
            f'<span class="muted">· {self.t(r.method)} · {" · ".join(extra)}</span></summary>'
            '<div class="inner"><h4>Headers</h4>'
            f"{self.table(r.headers, headers=True)}<h4>Body</h4>{self.body(r.body, r.body_size)}"
            "</div></details>"
        )

    def response(self, r: ResponseInfo) -> str:
        extra = [str(r.status) + (f" {self.t(r.reason)}" if r.reason else "")]
        extra.append(self.t(r.http_version))
        extra.append(_duration(r.elapsed_ms))
        extra.append(_plural(len(r.headers), "header"))
        if r.body is not None or r.body_size:
            extra.append(f"body {_size(r.body_size or len(r.body or ''))}")
        return (
            '<details class="response"><summary>Response '
            f'<span class="muted">· {" · ".join(extra)}</span></summary>'
            '<div class="inner"><h4>Headers</h4>'
            f"{self.table(r.headers, headers=True)}<h4>Body</h4>{self.body(r.body, r.body_size)}"
            "</div></details>"
        )


def html_chunks(run: RunResult, redactor: Redactor) -> Iterator[str]:
    """The report as one HTML document (no external resources), in pieces."""
    return _Renderer(run, redactor).page()


def render_html(run: RunResult, redactor: Redactor) -> str:
    return "".join(html_chunks(run, redactor))
