"""Runtime files are validated when loaded, and versions are matched by whole
components."""

from pathlib import Path

import pytest

from executor.errors import ConfigError, UnknownRuntime
from executor.runtimes import Registry, Runtime, load_file, version_matches

VALID = """\
language = "python"
aliases = ["py"]
source_file = "main.py"
version = { command = ["/usr/bin/python3", "--version"], pattern = 'Python (\\S+)' }
run = ["/usr/bin/python3", "{source}"]
hello = 'print("hi")'
"""


def write(tmp_path: Path, text: str, name: str = "python.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def without(field: str) -> str:
    return "".join(
        line + "\n" for line in VALID.splitlines() if not line.startswith(f"{field} ")
    )


def runtime(version: str, language: str = "python") -> Runtime:
    return Runtime(
        language=language,
        version=version,
        aliases=[],
        source_file="m",
        run=["m"],
        hello="",
        path=Path(f"{language}.toml"),
    )


@pytest.mark.parametrize(
    ("wanted", "installed", "matches"),
    [
        ("*", "3.11.2", True),
        ("", "3.11.2", True),
        ("3", "3.11.2", True),
        ("3.x", "3.11.2", True),
        ("3.11.x", "3.11.2", True),
        ("3.11.2", "3.11.2", True),
        ("3.12", "3.11.2", False),
        ("2", "3.11.2", False),
        ("3.11.3", "3.11.2", False),
        # components, not characters: 3.1 is not a prefix of 3.11
        ("3.1", "3.11.2", False),
    ],
)
def test_version_matches_by_whole_components(wanted, installed, matches):
    assert version_matches(wanted, installed) is matches


def test_valid_file_loads(tmp_path):
    loaded = load_file(write(tmp_path, VALID), detect=False)
    assert loaded.language == "python"
    assert loaded.run == ["/usr/bin/python3", "{source}"]
    assert loaded.compile is None


def test_unknown_field_names_the_file_and_the_field(tmp_path):
    path = write(tmp_path, VALID + 'colour = "red"\n')
    with pytest.raises(ConfigError) as refused:
        load_file(path, detect=False)
    assert "python.toml" in str(refused.value)
    assert "colour" in str(refused.value)


@pytest.mark.parametrize(
    "field", ["language", "source_file", "version", "run", "hello"]
)
def test_missing_required_field_names_the_file_and_the_field(tmp_path, field):
    path = write(tmp_path, without(field))
    with pytest.raises(ConfigError) as refused:
        load_file(path, detect=False)
    assert "python.toml" in str(refused.value)
    assert repr(field) in str(refused.value)


@pytest.mark.parametrize(
    ("field", "line"),
    [
        ("run", 'run = "/usr/bin/python3 main.py"'),
        ("run", "run = [1, 2]"),
        ("source_file", "source_file = 3"),
        ("aliases", 'aliases = "py"'),
        ("version", 'version = "3.11"'),
        ("stdout_terminal", 'stdout_terminal = "no"'),
        ("limits", "limits = { memory_bytes = -1 }"),
        ("limits", 'limits = { memory_bytes = "lots" }'),
    ],
)
def test_wrong_type_names_the_file_and_the_field(tmp_path, field, line):
    kept = without(field) if field in VALID else VALID
    path = write(tmp_path, kept + line + "\n")
    with pytest.raises(ConfigError) as refused:
        load_file(path, detect=False)
    assert "python.toml" in str(refused.value)
    assert field in str(refused.value)


def test_file_that_is_not_toml_names_the_file(tmp_path):
    path = write(tmp_path, "language = \n")
    with pytest.raises(ConfigError, match="python.toml"):
        load_file(path, detect=False)


def test_registry_load_fails_on_the_first_bad_file(tmp_path):
    write(tmp_path, VALID)
    write(tmp_path, VALID + "extra = 1\n", name="broken.toml")
    with pytest.raises(ConfigError, match="broken.toml"):
        Registry.load(tmp_path, detect=False)


def test_runtime_without_a_detected_version_is_not_offered():
    registry = Registry([runtime("3.11.2"), runtime(None, language="ruby")])
    assert [r.language for r in registry.installed] == ["python"]
    with pytest.raises(UnknownRuntime, match="ruby"):
        registry.find("ruby")


def test_find_picks_the_newest_matching_version():
    registry = Registry([runtime("3.9.18"), runtime("3.11.2"), runtime("3.10.1")])
    assert registry.find("python", "3").version == "3.11.2"
    assert registry.find("python", "3.10").version == "3.10.1"


def test_find_names_the_installed_versions_when_none_matches():
    registry = Registry([runtime("3.11.2")])
    with pytest.raises(UnknownRuntime, match="3.11.2"):
        registry.find("python", "2.7")


def test_language_lookup_ignores_case():
    assert Registry([runtime("3.11.2")]).find("Python").language == "python"


@pytest.mark.parametrize(
    ("lines", "named"),
    [
        ('[conformance]\nmain = "x"\n', "conformance.crash"),
        (
            '[conformance]\nmain = "x"\ncrash = "y"\ncolour = "z"\n',
            "conformance.colour",
        ),
        ('[conformance]\nmain = 1\ncrash = "y"\n', "conformance.main"),
        (
            'compile = ["cc"]\n[conformance]\nmain = "x"\ncrash = "y"\n',
            "conformance.compile_error",
        ),
        ('npm = "@types/node"\n', "npm"),
        ("limits = { wall_time = 5 }\n", "limits.wall_time"),
    ],
)
def test_conformance_npm_and_limit_errors_name_the_field(tmp_path, lines, named):
    path = write(tmp_path, VALID + lines)
    with pytest.raises(ConfigError) as refused:
        load_file(path, detect=False)
    assert "python.toml" in str(refused.value)
    assert named in str(refused.value)


def test_a_runtime_may_raise_its_time_limits_and_declare_its_programs(tmp_path):
    text = VALID + (
        'compile = ["cc"]\n'
        "compile_limits = { wall_time_ms = 30000, cpu_time_ms = 30000 }\n"
        'npm = ["@types/node@18.19.130"]\n'
        '[conformance]\nmain = "m"\ncrash = "c"\ncompile_error = "e"\n'
    )
    loaded = load_file(write(tmp_path, text), detect=False)
    assert loaded.compile_limits == {"wall_time_ms": 30000, "cpu_time_ms": 30000}
    assert loaded.npm == ["@types/node@18.19.130"]
    assert loaded.conformance == {"main": "m", "crash": "c", "compile_error": "e"}


def test_a_missing_tool_makes_the_runtime_unavailable_with_the_reason(tmp_path):
    text = VALID.replace("/usr/bin/python3", "/nonexistent/bin/python9")
    loaded = load_file(write(tmp_path, text))
    assert not loaded.available
    assert loaded.state == "unavailable: /nonexistent/bin/python9 is not installed"


def test_a_version_the_pattern_does_not_find_makes_the_runtime_unavailable(tmp_path):
    text = VALID.replace("Python (", "Cobra (")
    loaded = load_file(write(tmp_path, text))
    assert not loaded.available
    assert "has no version in it" in str(loaded.problem)


def test_an_installed_tool_gives_its_version(tmp_path):
    loaded = load_file(write(tmp_path, VALID))
    assert loaded.available and loaded.state == "available"
    assert loaded.version and loaded.version[0].isdigit()


@pytest.mark.parametrize(
    ("old", "new", "named"),
    [
        ('["/usr/bin/python3", "--version"]', "[]", "version.command"),
        (
            '["/usr/bin/python3", "--version"]',
            '["/usr/bin/python3", 5]',
            "version.command",
        ),  # fmt: skip
        ("pattern = 'Python (\\S+)'", "pattern = 5", "version.pattern"),
        (
            "pattern = 'Python (\\S+)'",
            "pattern = 'Python ((\\S+)'",
            "version.pattern",
        ),  # fmt: skip
        ("pattern = 'Python (\\S+)'", "pattern = 'Python \\S+'", "version.pattern"),
        (
            "pattern = 'Python (\\S+)' }",
            "pattern = 'Python (\\S+)', colour = 1 }",
            "version.colour",
        ),  # fmt: skip
        ('run = ["/usr/bin/python3", "{source}"]', "run = []", "run"),
        ('source_file = "main.py"', 'source_file = "../main.py"', "source_file"),
        ('source_file = "main.py"', 'source_file = ""', "source_file"),
    ],
)
def test_a_field_whose_contents_are_wrong_names_the_file_and_field(
    tmp_path, old, new, named
):
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new))
    with pytest.raises(ConfigError) as refused:
        load_file(path)
    assert "python.toml" in str(refused.value)
    assert named in str(refused.value)


@pytest.mark.parametrize(
    ("lines", "named"),
    [
        ("env = { PYTHONHASHSEED = 0 }\n", "env.PYTHONHASHSEED"),
        ("limits = { processes = true }\n", "limits.processes"),
        ("compile_limits = { memory_bytes = false }\n", "limits.memory_bytes"),
        ('sources = ["*.py", 3]\n', "sources"),
        (
            'compile = []\n[conformance]\nmain = "m"\ncrash = "c"\n'
            'compile_error = "e"\n',
            "compile",
        ),  # fmt: skip
    ],
)
def test_env_limits_and_command_contents_are_checked(tmp_path, lines, named):
    path = write(tmp_path, VALID + lines)
    with pytest.raises(ConfigError) as refused:
        load_file(path, detect=False)
    assert "python.toml" in str(refused.value)
    assert named in str(refused.value)


def test_a_name_two_languages_claim_is_refused_naming_both_files(tmp_path):
    write(tmp_path, VALID)
    other = VALID.replace('language = "python"', 'language = "go"')
    write(tmp_path, other.replace("/usr/bin/python3", "/usr/bin/go"), name="go.toml")
    with pytest.raises(ConfigError) as refused:
        Registry.load(tmp_path, detect=False)
    assert "'py'" in str(refused.value)
    assert "go.toml" in str(refused.value) and "python.toml" in str(refused.value)


def test_two_versions_of_one_language_may_share_their_names(tmp_path):
    write(tmp_path, VALID)
    write(tmp_path, VALID, name="python-next.toml")
    assert len(Registry.load(tmp_path, detect=False).all) == 2
