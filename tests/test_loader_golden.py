"""Golden loader errors: for each kind of mistake, the exact file:line:column, message and
hint a user sees (SPEC §1-§4). Changing one of these is changing what users read."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli

from apirun.errors import LoadError
from apirun.loader import load_text

GOLDEN = [
    (
        "regex-group-name-not-in-the-pattern",
        "name: x\nsteps:\n  - name: a\n    url: /x\n"
        "    capture: {v: {regex: 'v(?P<major>\\d+)', group: minor}}\n",
        5,
        52,
        "capture `v`: the pattern has no group named `minor`",
        "its named groups: major — name one with (?P<name>…)",
    ),
    (
        "header-name-with-a-space",
        "name: x\nsteps:\n  - name: a\n    url: /x\n    headers: {X Id: 1}\n",
        5,
        15,
        "invalid header name 'X Id'",
        "a header name is letters, digits and !#$%&'*+-.^_`|~ — no spaces or colons",
    ),
    (
        "condition-as-plain-text",
        "name: x\nsteps:\n  - name: a\n    url: /x\n    when: total > 3\n",
        5,
        11,
        "`when` is plain text, so it would always be true: 'total > 3'",
        'write the condition as a template: "{{ total > 3 }}"',
    ),
    (
        "unknown-defaults-key",
        "name: x\ndefaults: {timeot: 3}\nsteps:\n  - {name: a, url: /x}\n",
        2,
        12,
        "unknown key `timeot` in `defaults`",
        "did you mean `timeout`?",
    ),
    (
        "auth-block-named-none",
        "name: x\nauth:\n  none: {type: bearer, token: t}\nsteps:\n  - {name: a, url: /x}\n",
        3,
        3,
        "at `auth`: the name `none` is reserved (`auth: none` on a step sends no auth): "
        "rename this auth block",
        None,
    ),
    (
        "unknown-top-key",
        "name: x\nstesp: []\nsteps:\n  - {name: a, url: /x}\n",
        2,
        1,
        "unknown key `stesp` in the collection",
        "did you mean `steps`?",
    ),
    (
        "unknown-step-key",
        "name: x\nsteps:\n  - name: a\n    url: /x\n    hedaers: {A: b}\n",
        5,
        5,
        "unknown key `hedaers` in step 1",
        "did you mean `headers`?",
    ),
    (
        "missing-required",
        "name: x\nsteps:\n  - name: a\n",
        3,
        5,
        "step 1 is missing the required key `url`",
        None,
    ),
    (
        "wrong-type",
        "name: x\nsteps:\n  - name: a\n    url: /x\n    timeout: soon\n",
        5,
        14,
        "`timeout` must be a number, not 'soon'",
        'write seconds as a number, e.g. 2.5 (or a template: "{{ t }}")',
    ),
    (
        "bad-enum",
        "name: x\nauth:\n  k: {type: api-key, name: K, value: v, in: cookie}\nsteps:\n  - {name: a, url: /x}\n",
        3,
        45,
        "'cookie' is not allowed for auth block 'k' at `in`",
        "one of: header, query",
    ),
    (
        "unknown-auth-type",
        "name: x\nauth:\n  k: {type: oauth3}\nsteps:\n  - {name: a, url: /x}\n",
        3,
        13,
        "'oauth3' is not allowed for auth block 'k' at `type`",
        "one of: bearer, password, oauth2-code, oauth2-device, client-credentials, basic, api-key",
    ),
    (
        "auth-key-for-type",
        "name: x\nauth:\n  b: {type: bearer, token: t, username: u}\nsteps:\n  - {name: a, url: /x}\n",
        3,
        31,
        "unknown key `username` in auth block 'b'",
        "allowed keys here: `type`, `token`, `header`, `scheme`",
    ),
    (
        "unknown-auth-ref",
        "name: x\nauth:\n  login: {type: bearer, token: t}\nsteps:\n  - name: a\n    url: /x\n    auth: logn\n",
        7,
        11,
        "unknown auth block `logn`",
        "did you mean `login`?",
    ),
    (
        "duplicate-step",
        "name: x\nsteps:\n  - {name: a, url: /x}\n  - {name: a, url: /y}\n",
        4,
        12,
        "duplicate step name `a` (first used at line 3)",
        "step names must be unique: --step and reports refer to them",
    ),
    (
        "two-bodies",
        "name: x\nsteps:\n  - name: a\n    url: /x\n    json: {}\n    form: {}\n",
        6,
        5,
        "step `a` has more than one body: json, form",
        "use only one of json, form, body or multipart",
    ),
    (
        "bad-jsonpath",
        "name: x\nsteps:\n  - name: a\n    url: /x\n    expect:\n      json:\n        $.items[: 1\n",
        7,
        9,
        "invalid JSONPath '$.items[': unbalanced brackets, line 1, column 8",
        "see RFC 9535, e.g. $.items[0].id",
    ),
    (
        "bad-regex",
        "name: x\nsteps:\n  - name: a\n    url: /x\n    expect:\n      body: {matches: 'a(b'}\n",
        6,
        23,
        "invalid regular expression 'a(b': missing ) at position 3",
        None,
    ),
    (
        "template-syntax",
        "name: x\nsteps:\n  - name: a\n    url: /x/{{ id\n",
        4,
        10,
        "template syntax error: unexpected end of template, expected 'end of print statement'.",
        "check the {{ }} braces",
    ),
    (
        "unknown-predicate",
        "name: x\nsteps:\n  - name: a\n    url: /x\n    expect:\n      headers:\n        X: {containz: y}\n",
        7,
        13,
        "unknown predicate `containz`",
        "did you mean `contains`?",
    ),
    (
        "bad-status",
        "name: x\nsteps:\n  - name: a\n    url: /x\n    expect: {status: 2xy}\n",
        5,
        22,
        "invalid status '2xy'",
        'use a number (200), a list ([200, 201]) or a class ("2xx")',
    ),
    (
        "capture-two-sources",
        "name: x\nsteps:\n  - name: a\n    url: /x\n    capture:\n      v: {json: $.a, header: B}\n",
        6,
        7,
        "capture `v` needs exactly one source, not 2 (json, header)",
        "one of: json, header, cookie, regex, status, body, expr",
    ),
    (
        "duplicate-key",
        "name: x\nsteps:\n  - name: a\n    url: /x\n    url: /y\n",
        5,
        5,
        "duplicate key 'url' (first defined at line 4)",
        "remove one of them: YAML keeps only the last",
    ),
    (
        "yaml-syntax",
        "name: x\nsteps:\n  - name: a\n   url: /x\n",
        4,
        4,
        "invalid YAML: while parsing a block collection, did not find expected '-' indicator",
        "check the indentation of this line against the lines above it",
    ),
    (
        "tab-indent",
        "name: x\nsteps:\n\t- name: a\n",
        3,
        1,
        "invalid YAML: while scanning for the next token, found character that cannot start any token",
        "indent with spaces: YAML does not allow tabs for indentation",
    ),
    (
        "python-tag",
        "name: !!python/object/apply:os.system ['ls']\nsteps: []\n",
        1,
        7,
        "invalid YAML: the YAML tag 'tag:yaml.org,2002:python/object/apply:os.system' is not supported here",
        "only plain YAML values are allowed: strings, numbers, booleans, lists, mappings",
    ),
]


@pytest.mark.parametrize(
    ("kind", "text", "line", "column", "message", "hint"), GOLDEN, ids=[g[0] for g in GOLDEN]
)
def test_golden_error(
    kind: str, text: str, line: int, column: int, message: str, hint: str | None
) -> None:
    with pytest.raises(LoadError) as info:
        load_text(text, "c.yaml")
    first = info.value.diagnostics[0]
    assert first.location is not None
    assert (first.location.line, first.location.column) == (line, column)
    assert first.message == message
    assert first.hint == hint


def test_cli_renders_every_mistake_with_source_and_caret(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "name: x\nsteps:\n  - name: a\n    url: /x\n    hedaers: {A: b}\n"
        "    expect: {status: 2xy}\n  - name: b\n    url: /y\n    auth: nope\n"
    )
    result = run_cli("validate", "c.yaml", cwd=tmp_path)
    assert result.code == 2
    assert result.out == ""
    expected = """\
error: unknown key `hedaers` in step 1
  --> c.yaml:5:5
    |
  5 |     hedaers: {A: b}
    |     ^^^^^^^
  = hint: did you mean `headers`?

error: invalid status '2xy'
  --> c.yaml:6:22
    |
  6 |     expect: {status: 2xy}
    |                      ^
  = hint: use a number (200), a list ([200, 201]) or a class ("2xx")

error: unknown auth block `nope`
  --> c.yaml:9:11
    |
  9 |     auth: nope
    |           ^^^^
  = hint: did you mean `none`?
"""
    assert result.err == expected


@pytest.mark.parametrize(
    ("text", "column", "message", "hint"),
    [
        (
            "{gt: 0, lte: 5}",
            34,
            "`lte` is not a predicate, so this mapping is an object to compare with, "
            "not a list of predicates",
            "did you mean `le`? (to compare with such an object on purpose, write {eq: {…}})",
        ),
        (
            "{gte: 1}",
            27,
            "`gte` is not a predicate, so this mapping is an object to compare with, "
            "not a list of predicates",
            "did you mean `ge`? (to compare with such an object on purpose, write {eq: {…}})",
        ),
    ],
)
def test_a_mapping_that_looks_like_misspelt_predicates_is_compared_but_warned_about(
    text: str, column: int, message: str, hint: str
) -> None:
    # SPEC §4.1: any mapping that is not all predicates is compared for equality — kept,
    # but a typo must not pass unnoticed: a located warning, and a note on the failure.
    collection = load_text(
        f"name: x\nsteps:\n  - name: a\n    url: /x\n    expect: {{json: {{$.n: {text}}}}}\n",
        "c.yaml",
    )
    (warning,) = collection.warnings
    assert warning.location is not None
    assert (warning.location.line, warning.location.column) == (5, column)
    assert (warning.message, warning.hint) == (message, hint)
    (check,) = collection.steps[0].checks
    assert check.note is not None and "is not a predicate" in check.note
    plain = load_text(
        "name: x\nsteps:\n  - name: a\n    url: /x\n"
        "    expect: {json: {$.o: {type: book, name: x}}}\n",
        "c.yaml",
    )
    assert plain.warnings == () and plain.steps[0].checks[0].note is None
