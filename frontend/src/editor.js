// The playground's code editor: CodeMirror 6 behind a three-method API.
//
// esbuild bundles this file into static/playground/editor.bundle.js, which
// exposes window.PlaygroundEditor.create(parent, {language, doc, onRun,
// readOnly}).
// The page script (static/playground/app.js) needs no build step because
// everything it uses from CodeMirror goes through that object.

import {
  defaultKeymap,
  history,
  historyKeymap,
  indentWithTab,
} from "@codemirror/commands";
import {
  HighlightStyle,
  bracketMatching,
  indentOnInput,
  indentUnit,
  syntaxHighlighting,
} from "@codemirror/language";
import { Compartment, EditorState, Prec } from "@codemirror/state";
import {
  EditorView,
  drawSelection,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
} from "@codemirror/view";
import { tags as t } from "@lezer/highlight";

import { languageFor } from "./modes.js";

// Colours are CSS variables so that style.css alone decides the light and
// the dark palette; the fallbacks keep the editor legible without it.
const highlightStyle = HighlightStyle.define([
  { tag: [t.keyword, t.self], color: "var(--tok-keyword, #8a2fb4)" },
  {
    tag: [t.comment, t.meta],
    color: "var(--tok-comment, #6b7280)",
    fontStyle: "italic",
  },
  { tag: [t.string, t.regexp], color: "var(--tok-string, #19743a)" },
  { tag: [t.number, t.bool, t.null, t.atom], color: "var(--tok-number, #a94b00)" },
  { tag: [t.escape, t.character], color: "var(--tok-escape, #b0357a)" },
  {
    tag: [
      t.function(t.variableName),
      t.function(t.propertyName),
      t.standard(t.variableName),
      t.macroName,
    ],
    color: "var(--tok-function, #1d5fc0)",
  },
  {
    tag: [t.definition(t.variableName), t.definition(t.propertyName)],
    color: "var(--tok-definition, #0f6b80)",
  },
  { tag: [t.typeName, t.className, t.namespace], color: "var(--tok-type, #a3590a)" },
  { tag: [t.processingInstruction, t.labelName], color: "var(--tok-meta, #8a2fb4)" },
  { tag: [t.operator, t.punctuation], color: "var(--tok-operator, inherit)" },
  { tag: t.invalid, color: "var(--tok-invalid, #c62828)" },
  { tag: t.strong, fontWeight: "bold" },
  { tag: t.emphasis, fontStyle: "italic" },
]);

const theme = EditorView.theme({
  "&": {
    color: "var(--editor-fg, #1d1f23)",
    backgroundColor: "var(--editor-bg, #ffffff)",
    height: "100%",
  },
  ".cm-scroller": {
    fontFamily: "var(--mono, ui-monospace, monospace)",
    lineHeight: "1.5",
  },
  ".cm-content": { caretColor: "var(--editor-caret, #1d1f23)" },
  ".cm-cursor, .cm-dropCursor": { borderLeftColor: "var(--editor-caret, #1d1f23)" },
  ".cm-gutters": {
    color: "var(--editor-gutter-fg, #8b8f98)",
    backgroundColor: "var(--editor-gutter-bg, #f4f5f7)",
    borderRight: "1px solid var(--border, #d9dce1)",
  },
  ".cm-activeLine": { backgroundColor: "var(--editor-active-line, #f2f6fc)" },
  ".cm-activeLineGutter": { backgroundColor: "var(--editor-active-line, #f2f6fc)" },
  "& .cm-selectionLayer .cm-selectionBackground": {
    background: "var(--editor-selection, #d7e3f8)",
  },
  "&.cm-focused .cm-selectionLayer .cm-selectionBackground": {
    background: "var(--editor-selection-focused, #c3d6f7)",
  },
  "&.cm-focused .cm-matchingBracket": {
    backgroundColor: "var(--editor-bracket, #cde8d2)",
    outline: "1px solid var(--editor-bracket-border, #7cb889)",
  },
  "&.cm-focused .cm-nonmatchingBracket": {
    backgroundColor: "var(--editor-bad-bracket, #f6d0d0)",
  },
});

function create(
  parent,
  { language = "", doc = "", onRun = null, nonce = "", readOnly = false } = {},
) {
  const languageSlot = new Compartment();
  const runKeys = Prec.highest(
    keymap.of([
      {
        key: "Mod-Enter",
        preventDefault: true,
        run: () => {
          if (onRun) onRun();
          return true;
        },
      },
    ]),
  );

  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc,
      extensions: [
        // The page's Content-Security-Policy admits only styles carrying
        // this request's nonce, so CodeMirror's own <style> needs it.
        nonce ? EditorView.cspNonce.of(nonce) : [],
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        history(),
        drawSelection(),
        highlightActiveLine(),
        indentOnInput(),
        bracketMatching(),
        indentUnit.of("    "),
        syntaxHighlighting(highlightStyle),
        theme,
        runKeys,
        // Tab indents; Escape then Tab (or Ctrl-m) leaves the editor, which
        // CodeMirror provides itself and the page's hint documents.
        keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
        EditorView.contentAttributes.of({ "aria-label": "Code editor" }),
        languageSlot.of(languageFor(language)),
        // Embeds may show code that readers run but do not change.
        EditorState.readOnly.of(readOnly),
      ],
    }),
  });

  return {
    view,
    getCode: () => view.state.doc.toString(),
    setCode(text) {
      view.dispatch({
        changes: { from: 0, to: view.state.doc.length, insert: String(text) },
        selection: { anchor: 0 },
        scrollIntoView: true,
      });
    },
    setLanguage(mode) {
      view.dispatch({ effects: languageSlot.reconfigure(languageFor(mode)) });
    },
    focus: () => view.focus(),
  };
}

window.PlaygroundEditor = { create };
