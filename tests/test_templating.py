"""Templates: native types, strict undefined with locations, the sandbox, helpers."""

from __future__ import annotations

import base64

import pytest

from apirun.errors import TemplateError
from apirun.location import Location
from apirun.templating import (
    Namespace,
    TemplateSyntax,
    compile_template,
    referenced_names,
    render,
)

LOC = Location("c.yaml", 7, 9)


def r(source: str, **ctx: object) -> object:
    return render(compile_template(source, LOC), ctx)


def test_one_expression_keeps_its_native_type() -> None:
    assert r("{{ n }}", n=20) == 20
    assert r("  {{ n }} ", n=[1, 2]) == [1, 2]
    assert r("{{ flag }}", flag=False) is False
    assert r("n={{ n }}", n=20) == "n=20"
    assert r('{{ "}}" }}') == "}}"


def test_literal_strings_never_touch_jinja() -> None:
    t = compile_template("plain text", LOC)
    assert t.is_literal and render(t, {}) == "plain text"


def test_undefined_name_fails_with_the_template_location() -> None:
    with pytest.raises(TemplateError) as info:
        r("/orders/{{ order_id }}")
    assert "'order_id' is undefined" in info.value.message
    assert info.value.location == LOC


def test_env_and_secret_namespaces() -> None:
    seen: list[str] = []
    env = Namespace("env", {"A": "1"})
    secret = Namespace("secret", {"S": "hunter22"}, seen.append)
    assert r("{{ env.A }}", env=env) == "1"
    assert r("{{ env.B | default('x') }}", env=env) == "x"
    assert r("{{ secret.S }}", secret=secret) == "hunter22"
    assert seen == ["hunter22"]
    with pytest.raises(TemplateError) as info:
        r("{{ env.MISSING }}", env=env)
    assert "env.MISSING is not set" in info.value.message
    assert "--env-file" in info.value.message


@pytest.mark.parametrize(
    "payload",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ self._TemplateReference__context }}",
        "{{ config }}",
        "{{ lipsum.__globals__ }}",
        "{{ namespace.__init__.__globals__.os }}",
        "{{ 'a' * 100000000 }}",
        "{{ 10 ** 100000 }}",
        "{{ range(10000000) | list }}",
    ],
)
def test_sandbox_escapes_fail_cleanly(payload: str) -> None:
    with pytest.raises(TemplateError):
        r(payload)


def test_helpers_and_filters() -> None:
    assert len(str(r("{{ uuid() }}"))) == 36
    assert str(r("{{ now() }}")).endswith("Z")
    assert isinstance(r("{{ timestamp() }}"), int)
    assert 1 <= int(r("{{ random_int(1, 3) }}")) <= 3  # type: ignore[call-overload]
    assert r("{{ 'a:b' | b64encode }}") == base64.b64encode(b"a:b").decode()
    assert r("{{ 'YTpi' | b64decode }}") == "a:b"
    assert r("{{ 'a b&c' | urlencode }}") == "a%20b%26c"
    assert r("{{ 'YTpiPz8' | b64decode }}") == "a:b??"  # padding optional
    assert r("{{ 'YTpiPz8_' | b64decode }}") == "a:b???"  # URL-safe alphabet
    with pytest.raises(TemplateError, match="is not base64"):
        r("{{ '%%%' | b64decode }}")
    assert r("{{ [('a', 1), ('b', 'x y')] | urlencode }}") == "a=1&b=x+y"
    assert r("{{ {'a': 1, 'b': 'x y'} | urlencode }}") == "a=1&b=x+y"
    assert r("{{ {'a': '<x>'} | tojson }}") == '{"a": "<x>"}'


def test_syntax_errors_are_reported_at_compile_time() -> None:
    with pytest.raises(TemplateSyntax):
        compile_template("{{ a ", LOC)
    with pytest.raises(TemplateSyntax):
        compile_template("{% if %}", LOC)


def test_referenced_secret_names_are_found_statically() -> None:
    names = referenced_names("{{ secret.A }} {{ secret['B'] }} {{ env.C | default('') }}")
    assert names == {("secret", "A"), ("secret", "B"), ("env", "C")}


def test_values_inside_a_longer_string_read_as_an_api_writes_them() -> None:
    # The fast path ({{ name }}) and Jinja (any other expression) agree.
    for source in ("x={{ v }}", "x={{ v | first if false else v }}"):
        assert r(source, v=False) == "x=false"
        assert r(source, v=None) == "x="
        assert r(source, v=["a", 1]) == 'x=["a", 1]'
        assert r(source, v={"k": "é"}) == 'x={"k": "é"}'
