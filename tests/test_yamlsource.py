"""The YAML layer: locations, duplicate keys, tags, alias bombs, depth, encodings."""

from __future__ import annotations

import pytest
from conftest import every_location

from apirun.yamlsource import YamlFault, decode, load_scalar, parse


def fault(text: str) -> str:
    with pytest.raises(YamlFault) as info:
        parse("f.yaml", text)
    d = info.value.diagnostic
    assert d.location is not None
    return f"{d.location.line}:{d.location.column} {d.message}"


def test_locations_of_values_and_keys() -> None:
    doc = parse("f.yaml", "name: x\nsteps:\n  - name: a\n    url: /x\n")
    step = doc.data["steps"][0]
    assert str(doc.loc(step, "url")) == "f.yaml:4:10"
    assert str(doc.loc(step, "url", of_key=True)) == "f.yaml:4:5"
    assert str(doc.loc_path(("steps", 0, "name"))) == "f.yaml:3:11"


def test_keys_are_literal_text_and_dates_stay_strings() -> None:
    doc = parse("f.yaml", "on: yes\n200: ok\nday: 2024-01-01\n")
    assert doc.data == {"on": True, "200": "ok", "day": "2024-01-01"}


def test_duplicate_key_is_an_error_at_the_second_key() -> None:
    # Collected, not raised: the file is still read (the last value kept) so that its
    # other mistakes are reported with it.
    doc = parse("f.yaml", "a: 1\nb: 2\na: 3\n")
    [d] = doc.duplicates
    assert d.location is not None
    assert f"{d.location.line}:{d.location.column} {d.message}" == (
        "3:1 duplicate key 'a' (first defined at line 1)"
    )
    assert doc.data == {"a": 3, "b": 2}


def test_merge_keys_work_and_may_override() -> None:
    doc = parse("f.yaml", "base: &b {x: 1, y: 1}\nm:\n  <<: *b\n  y: 2\n")
    assert doc.data["m"] == {"x": 1, "y": 2}


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system [ls]\n",
        "a: !!binary aGVsbG8=\n",
        "a: !!set {x, y}\n",
        "a: !custom x\n",
    ],
)
def test_unsupported_tags_are_refused(text: str) -> None:
    assert "is not supported" in fault(text)


def test_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    assert "alias" in fault("\n".join(lines) + "\n")


def test_recursive_alias_is_refused() -> None:
    assert "refers to itself" in fault("a: &a [*a]\n")


def test_deep_nesting_is_refused_not_a_crash() -> None:
    assert "nest" in fault("[" * 5000)
    assert "nest" in fault("a: " + "[" * 150 + "]" * 150 + "\n")


def test_two_documents_are_an_error() -> None:
    assert "single document" in fault("a: 1\n---\nb: 2\n")


def test_non_utf8_names_the_byte_and_position() -> None:
    with pytest.raises(YamlFault) as info:
        decode("f.yaml", b"name: ok\nurl: caf\xe9\n")
    d = info.value.diagnostic
    assert d.location is not None and (d.location.line, d.location.column) == (2, 9)
    assert "0xe9" in d.message


def test_var_values_are_yaml_scalars() -> None:
    assert load_scalar("3") == 3
    assert load_scalar("true") is True
    assert load_scalar("'3'") == "3"
    assert load_scalar("hello world") == "hello world"
    assert load_scalar("[1, 2") == "[1, 2"
    assert load_scalar("2024-01-01") == "2024-01-01"


# -- the event fast path gives what the node path gives -------------------------------------

TRICKY = [
    "a: 1\nb: [1, 2, {c: d}]\n",
    "on: yes\n200: ok\n'quoted': \"x\"\nnull: ~\nempty:\n",
    "n: [0x1F, 0o17, 1_000, .inf, -.5, 1e3, +7, 010, 0b101]\n",
    "b: !!str 3\n",
    "s: ! 12\n",
    "t: |\n  line one\n  line two\nu: >-\n  folded\n  text\n",
    'm: "multi\n  line"\np: plain\n  continued\n',
    "- x\n- - y\n  - {z: [1, {w: 2}]}\n- ''\n",
    "k: v # comment\n# c\nl:\n  - 1 # one\n  -   2\n",
    "\ufeffk: v\r\nw: x\r\n",
    "é: ünïcödé\n'ключ': значение\n",
    "flow: {a: 1, b: {c: [x, y]}, 'd e': \"f\"}\n",
    "deep: " + "[" * 40 + "]" * 40 + "\n",
    "? a\n: b\n",
    "x: 1\n<<: {y: 2}\n",
    "a: &A 1\nb: *A\n",
    "a: 1\na: 2\n",
    "- 1\n--- \n- 2\n",
    "just a scalar\n",
    "",
    "x: 2001-01-01\ny: 12:30:00\n",
    "x: 0x_\n",
]


def _outcome(text: str, events: bool):  # type: ignore[no-untyped-def]
    try:
        doc = parse("c.yaml", text, events=events)
    except YamlFault as exc:
        return ("fault", exc.diagnostic.message, exc.diagnostic.location)
    return ("ok", doc.data, every_location(doc, doc.data))


@pytest.mark.parametrize("text", TRICKY)
def test_event_path_equals_node_path(text: str) -> None:
    assert _outcome(text, events=True) == _outcome(text, events=False)


def test_event_path_equals_node_path_on_the_examples_and_a_large_file() -> None:
    from conftest import EXAMPLES

    texts = [p.read_text() for p in sorted(EXAMPLES.glob("*.yaml"))]
    texts.append(
        "name: big\nsteps:\n"
        + "".join(
            f"  - name: s{i}\n    url: /items/{i}\n"
            f'    headers: {{X-Id: "{{{{ id }}}}-{i}"}}\n'
            f"    expect: {{status: [200, 201], json: {{$.id: {i}}}}}\n"
            for i in range(300)
        )
    )
    for text in texts:
        fast, slow = _outcome(text, events=True), _outcome(text, events=False)
        assert fast[0] == "ok" and fast == slow
    # and the fast path really kept no nodes for them
    doc = parse("c.yaml", texts[-1])
    assert doc.root is None
