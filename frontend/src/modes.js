// Syntax highlighting per runtime: `editor_mode` in a runtimes/*.toml file
// names an entry of MODES. Lezer languages where CodeMirror has one, its
// legacy stream modes for the others, and a small keyword mode (below) for
// the few languages neither covers. A new language adds one line here.

import { cpp } from "@codemirror/lang-cpp";
import { javascript } from "@codemirror/lang-javascript";
import { python } from "@codemirror/lang-python";
import { StreamLanguage } from "@codemirror/language";
import { csharp, java, kotlin, scala } from "@codemirror/legacy-modes/mode/clike";
import { clojure } from "@codemirror/legacy-modes/mode/clojure";
import { cobol } from "@codemirror/legacy-modes/mode/cobol";
import { commonLisp } from "@codemirror/legacy-modes/mode/commonlisp";
import { crystal } from "@codemirror/legacy-modes/mode/crystal";
import { d } from "@codemirror/legacy-modes/mode/d";
import { erlang } from "@codemirror/legacy-modes/mode/erlang";
import { fortran } from "@codemirror/legacy-modes/mode/fortran";
import { go } from "@codemirror/legacy-modes/mode/go";
import { haskell } from "@codemirror/legacy-modes/mode/haskell";
import { lua } from "@codemirror/legacy-modes/mode/lua";
import { oCaml } from "@codemirror/legacy-modes/mode/mllike";
import { pascal } from "@codemirror/legacy-modes/mode/pascal";
import { perl } from "@codemirror/legacy-modes/mode/perl";
import { r } from "@codemirror/legacy-modes/mode/r";
import { ruby } from "@codemirror/legacy-modes/mode/ruby";
import { rust } from "@codemirror/legacy-modes/mode/rust";
import { scheme } from "@codemirror/legacy-modes/mode/scheme";
import { shell } from "@codemirror/legacy-modes/mode/shell";
import { sqlite } from "@codemirror/legacy-modes/mode/sql";
import { tcl } from "@codemirror/legacy-modes/mode/tcl";

// A stream mode from a word list: comments, strings, numbers, keywords,
// built-ins and, where the language marks them, variables ($x, @x).
function keywordMode({ name, keywords, builtins = [], line = "#", block = null,
                       quotes = "\"'", variable = null, upperVariables = false }) {
  const isKeyword = new Set(keywords);
  const isBuiltin = new Set(builtins);
  return {
    name,
    startState: () => ({ inBlock: false }),
    token(stream, state) {
      if (state.inBlock) {
        if (stream.skipTo(block[1])) {
          stream.pos += block[1].length;
          state.inBlock = false;
        } else stream.skipToEnd();
        return "comment";
      }
      if (stream.eatSpace()) return null;
      if (block && stream.match(block[0])) {
        state.inBlock = true;
        return "comment";
      }
      if (stream.match(line)) {
        stream.skipToEnd();
        return "comment";
      }
      const ch = stream.peek();
      if (quotes.includes(ch)) {
        stream.next();
        let escaped = false;
        for (let next; (next = stream.next()) != null; ) {
          if (next === ch && !escaped) break;
          escaped = !escaped && next === "\\";
        }
        return "string";
      }
      if (stream.match(/^\d[\d_]*(\.\d+)?([eE][+-]?\d+)?/)) return "number";
      if (variable && stream.match(variable)) return "variableName";
      if (stream.match(/^[A-Za-z_][\w?!]*/)) {
        const word = stream.current();
        if (isKeyword.has(word)) return "keyword";
        if (isBuiltin.has(word)) return "builtin";
        if (upperVariables && /^[A-Z_]/.test(word)) return "variableName";
        return null;
      }
      stream.next();
      return null;
    },
    languageData: { commentTokens: { line, ...(block ? { block: { open: block[0], close: block[1] } } : {}) } },
  };
}

const awk = keywordMode({
  name: "awk",
  keywords: ["BEGIN", "END", "function", "if", "else", "while", "for", "in", "do",
             "break", "continue", "next", "nextfile", "exit", "return", "delete",
             "getline"],
  builtins: ["print", "printf", "length", "substr", "index", "split", "sub", "gsub",
             "match", "sprintf", "tolower", "toupper", "system", "close", "fflush",
             "NR", "NF", "FS", "OFS", "RS", "ORS", "FILENAME", "ARGC", "ARGV"],
  quotes: "\"",
  variable: /^\$\w*/,
});

const elixir = keywordMode({
  name: "elixir",
  keywords: ["def", "defp", "defmodule", "defmacro", "do", "end", "fn", "if",
             "else", "unless", "case", "cond", "with", "for", "when", "and", "or",
             "not", "in", "import", "alias", "require", "use", "true", "false",
             "nil", "raise", "rescue", "try", "catch", "after", "receive"],
  builtins: ["IO", "Enum", "String", "List", "Map", "System", "File", "Kernel"],
  variable: /^:\w+/,
});

const nim = keywordMode({
  name: "nim",
  keywords: ["proc", "func", "method", "iterator", "template", "macro", "let",
             "var", "const", "type", "object", "if", "elif", "else", "case", "of",
             "while", "for", "in", "return", "yield", "break", "continue",
             "import", "from", "include", "when", "and", "or", "not", "div",
             "mod", "true", "false", "nil", "try", "except", "finally", "raise",
             "discard", "block", "ref", "ptr", "seq", "string", "int"],
  builtins: ["echo", "stdin", "stdout", "readLine", "readFile", "quit", "len"],
  block: ["#[", "]#"],
});

const php = keywordMode({
  name: "php",
  keywords: ["function", "fn", "return", "if", "else", "elseif", "while", "for",
             "foreach", "as", "do", "switch", "case", "break", "continue",
             "class", "new", "public", "private", "protected", "static", "echo",
             "print", "true", "false", "null", "exit", "use", "namespace",
             "try", "catch", "throw", "match", "array"],
  builtins: ["strlen", "count", "explode", "implode", "trim", "rtrim", "fgets",
             "file_get_contents", "printf", "sprintf", "intdiv", "STDIN"],
  line: "//",
  block: ["/*", "*/"],
  variable: /^\$\w+/,
});

const prolog = keywordMode({
  name: "prolog",
  keywords: ["is", "mod", "rem", "div", "not", "true", "fail", "halt"],
  builtins: ["write", "writeln", "format", "nl", "read_term", "member", "append",
             "length", "findall", "forall", "between", "atom_length"],
  line: "%",
  block: ["/*", "*/"],
  upperVariables: true,
});

const nasm = keywordMode({
  name: "nasm",
  keywords: ["section", "segment", "global", "extern", "db", "dw", "dd", "dq",
             "resb", "resw", "resd", "resq", "equ", "times", "byte", "word",
             "dword", "qword", "mov", "lea", "add", "sub", "imul", "mul", "div",
             "idiv", "inc", "dec", "xor", "and", "or", "not", "cmp", "test", "jmp",
             "je", "jne", "jz", "jnz", "jl", "jle", "jg", "jge", "call", "ret",
             "push", "pop", "syscall"],
  builtins: ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp", "r8", "r9",
             "r10", "r11", "r12", "r13", "r14", "r15", "eax", "ebx", "ecx", "edx",
             "al", "bl", "cl", "dl"],
  line: ";",
  quotes: "\"'`",
});

const stream = (mode) => () => StreamLanguage.define(mode);

export const MODES = {
  python: () => python(),
  javascript: () => javascript(),
  typescript: () => javascript({ typescript: true }),
  c: () => cpp(),
  cpp: () => cpp(),
  shell: stream(shell),
  java: stream(java),
  kotlin: stream(kotlin),
  scala: stream(scala),
  csharp: stream(csharp),
  go: stream(go),
  rust: stream(rust),
  ruby: stream(ruby),
  crystal: stream(crystal),
  perl: stream(perl),
  lua: stream(lua),
  haskell: stream(haskell),
  ocaml: stream(oCaml),
  erlang: stream(erlang),
  clojure: stream(clojure),
  scheme: stream(scheme),
  commonlisp: stream(commonLisp),
  r: stream(r),
  sql: stream(sqlite),
  fortran: stream(fortran),
  pascal: stream(pascal),
  d: stream(d),
  cobol: stream(cobol),
  tcl: stream(tcl),
  nasm: stream(nasm),
  awk: stream(awk),
  elixir: stream(elixir),
  nim: stream(nim),
  php: stream(php),
  prolog: stream(prolog),
};

// Each language is built once, on first use; unknown modes get plain text.
const built = new Map();

export function languageFor(mode) {
  if (!(mode in MODES)) return [];
  if (!built.has(mode)) built.set(mode, MODES[mode]());
  return built.get(mode);
}
