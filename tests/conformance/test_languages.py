"""What single languages promise beyond the shared suite: JVM memory under
the cgroup, several classes in several files, the class named by the file,
SQL's argument table."""

from __future__ import annotations

from typing import Any

from executor import config
from executor.requests import build_job
from playground.api.results import collect
from playground.registry import registry
from tests.conftest import execute

MIB = 1024 * 1024

REVERSE = """
public class Main {
    public static void main(String[] a) {
        System.out.println(new StringBuilder(a[0]).reverse());
        if (a.length > 1) {
            long[] big = new long[64_000_000];
            System.out.println(big.length);
        }
    }
}
"""
JVM_START_FAILURES = ("Could not reserve", "Error occurred during initialization")


async def test_java_starts_under_128_mib_of_memory(backend):
    result = await execute(
        backend, "java", REVERSE, args=["olleh"], run_memory_limit=128 * MIB
    )
    run = result["run"]
    assert run["status"] is None, run["stderr"]
    assert run["stdout"] == "hello\n"
    assert 0 < run["memory"] < 128 * MIB


async def test_java_allocating_past_its_memory_ends_out_of_memory(backend):
    result = await execute(
        backend, "java", REVERSE, args=["olleh", "boom"], run_memory_limit=128 * MIB
    )
    run = result["run"]
    assert run["stdout"].startswith("hello\n")
    assert not any(failure in run["stderr"] for failure in JVM_START_FAILURES)
    assert run["status"] in ("ML", "RE"), run
    if run["status"] == "RE":
        assert "OutOfMemoryError" in run["stderr"]


MAIN_JAVA = """
import shop.Item;

public class Main {
    public static void main(String[] args) {
        System.out.println(new Item("tea", 3).describe() + " " + Helper.twice(21));
    }
}

class Helper {
    static int twice(int x) { return 2 * x; }
}
"""
ITEM_JAVA = """
package shop;

public class Item {
    private final String name;
    private final int count;

    public Item(String name, int count) { this.name = name; this.count = count; }

    public String describe() { return count + " x " + name; }
}
"""


async def test_java_with_several_classes_in_several_files(backend):
    result = await execute(
        backend,
        "java",
        MAIN_JAVA,
        files=[{"name": "shop/Item.java", "content": ITEM_JAVA}],
    )
    assert result["compile"]["status"] is None, result["compile"]["stderr"]
    assert result["run"]["stdout"] == "3 x tea 42\n"


async def run_named(backend, language: str, name: str, source: str):
    """Run a program whose first file has a name of its own."""
    payload = {"language": language, "files": [{"name": name, "content": source}]}
    settings = config.get()
    job, _ = build_job(
        payload, registry(), settings, settings.defaults["http_output_bytes"]
    )
    stages: dict[str, Any] = {}
    await collect(await backend.submit(job), stages, {})
    return stages


async def test_java_runs_the_class_its_first_file_names(backend):
    source = (
        "public class Greeter { public static void main(String[] a) "
        '{ System.out.println("from Greeter"); } }'
    )
    result = await run_named(backend, "java", "Greeter.java", source)
    assert result["compile"]["status"] is None, result["compile"]["stderr"]
    assert result["run"]["stdout"] == "from Greeter\n"


MAIN_KT = """
fun main() {
    val greeter = Greeter("Kotlin")
    println(greeter.greet() + " " + twice(21))
}
"""
GREETER_KT = """
class Greeter(private val name: String) {
    fun greet() = "Hello from $name"
}

fun twice(x: Int) = 2 * x
"""


async def test_kotlin_with_several_classes_in_several_files(backend):
    result = await execute(
        backend,
        "kotlin",
        MAIN_KT,
        files=[{"name": "Greeter.kt", "content": GREETER_KT}],
    )
    assert result["compile"]["status"] is None, result["compile"]["stderr"]
    assert result["run"]["stdout"] == "Hello from Kotlin 42\n"


async def test_sql_arguments_arrive_quoted_exactly(backend):
    args = ["it's", "two\nlines\n", "x'); DROP TABLE args; --", ""]
    result = await execute(
        backend, "sql", "SELECT n || ':' || value || '|' FROM args ORDER BY n;",
        args=args,
    )  # fmt: skip
    expected = "".join(f"{n}:{a}|\n" for n, a in enumerate(args, start=1))
    assert result["run"]["stdout"] == expected, result["run"]["stderr"]


async def test_a_program_may_reopen_its_stdio_by_name(backend):
    source = "cat /dev/stdin; echo out > /dev/stdout; echo err > /dev/stderr"
    result = await execute(backend, "bash", source, stdin="in\n")
    assert result["run"]["stdout"] == "in\nout\n"
    assert result["run"]["stderr"] == "err\n"


async def test_kotlin_runs_the_main_function_whatever_its_file_is_called(backend):
    source = 'fun main() {\n    println("from app.kt")\n}\n'
    result = await run_named(backend, "kotlin", "app.kt", source)
    assert result["compile"]["status"] is None, result["compile"]["stderr"]
    assert result["run"]["stdout"] == "from app.kt\n"


async def test_scala_runs_the_object_with_main_whatever_its_name(backend):
    source = 'object Hello {\n  def main(a: Array[String]): Unit = println("hi")\n}\n'
    result = await run_named(backend, "scala", "Main.scala", source)
    assert result["compile"]["status"] is None, result["compile"]["stderr"]
    assert result["run"]["stdout"] == "hi\n"


MAIN_COB = """IDENTIFICATION DIVISION.
PROGRAM-ID. MAIN.
PROCEDURE DIVISION.
    CALL "GREET".
    STOP RUN.
"""
GREET_COB = """IDENTIFICATION DIVISION.
PROGRAM-ID. GREET.
PROCEDURE DIVISION.
    DISPLAY "from the subprogram".
    GOBACK.
"""


async def test_cobol_calls_a_subprogram_from_another_file(backend):
    result = await execute(
        backend, "cobol", MAIN_COB, files=[{"name": "greet.cob", "content": GREET_COB}]
    )
    assert result["compile"]["status"] is None, result["compile"]["stderr"]
    assert result["run"]["stdout"] == "from the subprogram\n"


GREET_TS = 'export function greet(s: string): string {\n  return "hi " + s;\n}\n'


async def test_typescript_runs_an_entry_point_in_a_sub_directory(backend):
    # tsc writes src/main.js beside src/main.ts; the run must start that file.
    payload = {
        "language": "typescript",
        "files": [
            {"name": "src/main.ts", "content": 'import { greet } from "./lib/greet";\n'
             'console.log(greet("ts"));\n'},
            {"name": "src/lib/greet.ts", "content": GREET_TS},
        ],
    }  # fmt: skip
    settings = config.get()
    job, _ = build_job(
        payload, registry(), settings, settings.defaults["http_output_bytes"]
    )
    result: dict[str, Any] = {}
    await collect(await backend.submit(job), result, {})
    assert result["compile"]["status"] is None, result["compile"]["stderr"]
    assert result["run"]["stdout"] == "hi ts\n", result["run"]["stderr"]


MAIN_F90 = "program main\n  use greet\n  call hi()\nend program main\n"
GREET_F90 = """module greet
contains
  subroutine hi()
    print '(a)', 'hi from a module'
  end subroutine hi
end module greet
"""


async def test_fortran_uses_a_module_from_another_file(backend):
    # The module's file compiles first: gfortran needs its .mod for `use`.
    result = await execute(
        backend,
        "fortran",
        MAIN_F90,
        files=[{"name": "greet.f90", "content": GREET_F90}],
    )
    assert result["compile"]["status"] is None, result["compile"]["stderr"]
    assert result["run"]["stdout"] == "hi from a module\n"


async def test_ocaml_links_modules_from_other_files_in_dependency_order(backend):
    # files[] lists greet before the util it needs: the order is worked out.
    result = await execute(
        backend,
        "ocaml",
        "let () = print_endline (Greet.hi () ^ Util.mark)\n",
        files=[
            {"name": "lib/greet.ml", "content": 'let hi () = "hi " ^ Util.mark\n'},
            {"name": "util.ml", "content": 'let mark = "!"\n'},
        ],
    )
    assert result["compile"]["status"] is None, result["compile"]["stderr"]
    assert result["run"]["stdout"] == "hi !!\n"


MAIN_ASM = """global _start
extern hi
section .text
_start:
    call hi
    mov eax, 60
    xor edi, edi
    syscall
"""
HI_ASM = """global hi
section .data
text: db "hi from another file", 10
section .text
hi:
    mov eax, 1
    mov edi, 1
    lea rsi, [rel text]
    mov edx, 21
    syscall
    ret
"""


async def test_nasm_links_a_routine_from_another_file(backend):
    result = await execute(
        backend, "nasm", MAIN_ASM, files=[{"name": "lib/hi.asm", "content": HI_ASM}]
    )
    assert result["compile"]["status"] is None, result["compile"]["stderr"]
    assert result["run"]["stdout"] == "hi from another file\n"


async def test_go_builds_the_first_files_package_beside_other_directories(backend):
    # A Go package is one directory: files elsewhere are not named to go build.
    result = await execute(
        backend,
        "go",
        'package main\n\nimport (\n\t"fmt"\n\t"./tools"\n)\n\n'
        "func main() { fmt.Println(greeting(), tools.Name()) }\n",
        files=[
            {"name": "greet.go", "content": 'package main\n\nfunc greeting() '
             'string { return "hi go" }\n'},
            {"name": "tools/name.go", "content": "package tools\n\nfunc Name() "
             'string { return "and tools" }\n'},
            {"name": "main_test.go", "content": "package main\n\nbroken\n"},
        ],
    )  # fmt: skip
    assert result["compile"]["status"] is None, result["compile"]["stderr"]
    assert result["run"]["stdout"] == "hi go and tools\n"


async def test_haskell_passes_rts_flags_to_the_program_as_arguments(backend):
    # A GHC program reads +RTS ... -RTS itself unless linked to ignore them.
    args = ["+RTS", "-M1g", "-RTS", "--RTS", "-?"]
    result = await execute(
        backend, "haskell", "import System.Environment\nmain = getArgs >>= print\n",
        args=args,
    )  # fmt: skip
    assert result["run"]["status"] is None, result["run"]["stderr"]
    assert result["run"]["stdout"] == '["+RTS","-M1g","-RTS","--RTS","-?"]\n'


async def test_d_passes_druntime_flags_to_the_program_as_arguments(backend):
    # D's runtime takes --DRT-... arguments for itself unless told not to.
    result = await execute(
        backend,
        "d",
        "import std.stdio;\nvoid main(string[] a) { writeln(a[1 .. $]); }\n",
        args=["--DRT-gcopt=help", "x"],
    )
    assert result["run"]["status"] is None, result["run"]["stderr"]
    assert result["run"]["stdout"] == '["--DRT-gcopt=help", "x"]\n'


async def test_java_runs_a_first_file_in_a_folder_without_a_package(backend):
    # src/Main.java declares no package: its class is Main, not src.Main.
    source = (
        "public class Main { public static void main(String[] a) "
        '{ System.out.println("from src " + a.length); } }'
    )
    result = await run_named(backend, "java", "src/Main.java", source)
    assert result["compile"]["status"] is None, result["compile"]["stderr"]
    assert result["run"]["stdout"] == "from src 0\n", result["run"]["stderr"]


async def test_pascal_uses_units_from_sub_directories(backend):
    unit = "unit {0}; interface procedure say_{0}; implementation procedure " \
        "say_{0}; begin writeln('{0}'); end; end.\n"  # fmt: skip
    result = await execute(
        backend,
        "pascal",
        "program m; uses greet, deeper; begin say_greet; say_deeper; end.\n",
        files=[
            {"name": "lib/greet.pas", "content": unit.format("greet")},
            {"name": "lib/deep/deeper.pas", "content": unit.format("deeper")},
        ],
    )
    assert result["compile"]["status"] is None, result["compile"]["stderr"]
    assert result["run"]["stdout"] == "greet\ndeeper\n"
