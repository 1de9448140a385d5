"""Every error of every file and every missing path, in one go."""

from __future__ import annotations

from pathlib import Path

from conftest import run_cli


def test_a_duplicate_key_does_not_hide_the_files_other_mistakes(write) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: x
        name: y
        steps:
          - {name: a, url: "http://127.0.0.1:9/", metod: GET}
          - name: b
            url: "http://127.0.0.1:9/"
            expect: {statu: 200}
        """
    )
    result = run_cli("validate", path)
    assert result.code == 2
    assert "duplicate key 'name'" in result.err
    assert "unknown key `metod`" in result.err and "unknown key `statu`" in result.err


def test_every_missing_path_is_named(write, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = write("name: x\nsteps: [{name: a, url: 'http://127.0.0.1:9/', metod: GET}]\n")
    result = run_cli(tmp_path / "a.yaml", good, tmp_path / "b.yaml")
    assert result.code == 2
    assert f"no such file or directory: {tmp_path / 'a.yaml'}" in result.err
    assert f"no such file or directory: {tmp_path / 'b.yaml'}" in result.err
    assert "unknown key `metod`" in result.err  # the files that exist are checked too


def test_an_unused_var_is_warned_about_with_the_closest_name(
    write, demo_env: dict[str, str]
) -> None:  # type: ignore[no-untyped-def]
    path = write(
        """
        name: vars
        base_url: "{{ env.DEMO_URL }}"
        variables: {page_size: 10}
        steps:
          - name: s
            url: /echo?size={{ page_size }}
        """
    )
    result = run_cli(path, "--var", "pagesize=5", "--var", "page_size=3", env=demo_env)
    assert result.code == 0, result.all  # the exit code is unchanged
    assert "warning: --var pagesize is not used" in result.err
    assert "did you mean `page_size`?" in result.err
    assert "--var page_size" not in result.err
