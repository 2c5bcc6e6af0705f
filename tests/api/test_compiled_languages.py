"""Compiled languages as people write them: several files, heavy headers."""

from tests.conftest import execute

UTIL_H = "int twice(int x);\n"
UTIL_C = '#include "util.h"\nint twice(int x) { return 2 * x; }\n'
MAIN_C = """#include <stdio.h>
#include "util.h"
int main(void) { printf("%d\\n", twice(21)); }
"""


async def test_every_c_file_is_compiled_and_linked(backend):
    result = await execute(
        backend,
        "c",
        MAIN_C,
        files=[
            {"name": "util.h", "content": UTIL_H},
            {"name": "util.c", "content": UTIL_C},
        ],
    )
    assert result["compile"]["status"] is None, result["compile"]["stderr"]
    assert result["run"]["stdout"] == "42\n"


async def test_cpp_with_the_whole_standard_library_compiles(backend):
    source = """
#include <bits/stdc++.h>
#include <regex>
int main() {
    std::map<std::string, std::vector<int>> seen{{"a", {1, 2}}};
    std::cout << std::regex_match("aaa", std::regex("a+")) << seen["a"].size() << "\\n";
}
"""
    result = await execute(backend, "c++", source)
    assert result["compile"]["status"] is None, result["compile"]["message"]
    assert result["run"]["stdout"] == "12\n"
