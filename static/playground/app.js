// The playground page: runs the editor's code over the websocket protocol of
// docs/protocol.md and shows the output as it arrives.
//
//   page ── init, data(stdin), close_stdin, signal ──▶ /api/v2/connect
//   page ◀── runtime, stage, data(stdout|stderr), exit, error ── server
//
// Program output is untrusted: it reaches the DOM only as text nodes, and
// terminal colours become inline styles set through element.style.
"use strict";

(() => {
  const MAX_LINES = 20000;
  const CHUNK_LINES = 200;
  // A span stops growing past this, which keeps each text node small.
  const MERGE_MAX_CHARS = 16384;
  const STOP_GRACE_MS = 2000;

  const byId = (id) => document.getElementById(id);
  const ui = {
    language: byId("language"),
    editor: byId("editor"),
    stdin: byId("stdin"),
    run: byId("run"),
    stop: byId("stop"),
    output: byId("output"),
    inputRow: byId("input-row"),
    input: byId("input"),
    eof: byId("eof"),
    status: byId("status"),
  };

  // ── Terminal escapes ────────────────────────────────────────────────

  const ESC = "\x1b";
  // C0 and C1 controls other than \t and \n; ESC is one of them.
  const SPECIAL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
  const CSI = /\x1b\[([0-?]*)([ -/]*)([@-~])/y;
  const CSI_PARTIAL = /\x1b\[[0-?]*[ -/]*$/y;
  const ESC_OTHER = /\x1b[ -/]*[0-~]/y;
  const ESC_OTHER_PARTIAL = /\x1b[ -/]*$/y;
  const STRING_END = /[\x07\x18\x1a\x1b\n]/g;
  const STRING_INTRODUCERS = new Set(["]", "P", "X", "^", "_"]); // OSC, DCS, …
  // Longer unfinished sequences are garbage, not a sequence split in two.
  const MAX_CARRY = 256;
  const CUBE = [0, 95, 135, 175, 215, 255];

  const isByte = (n) => Number.isInteger(n) && n >= 0 && n <= 255;

  function paletteColor(n) {
    if (!isByte(n)) return null;
    if (n < 16) return `var(--ansi-${n})`;
    if (n >= 232) {
      const grey = 8 + 10 * (n - 232);
      return `rgb(${grey}, ${grey}, ${grey})`;
    }
    const i = n - 16;
    const levels = [Math.floor(i / 36), Math.floor(i / 6) % 6, i % 6];
    return rgbColor(levels.map((level) => CUBE[level]));
  }

  function rgbColor([r, g, b]) {
    return [r, g, b].every(isByte) ? `rgb(${r}, ${g}, ${b})` : null;
  }

  function plainSgr() {
    return { fg: null, bg: null, bold: false, dim: false, italic: false,
      underline: false, strike: false, inverse: false };
  }

  // Floods of coloured output repeat a handful of styles: each is built
  // once. Gradients in 24-bit colour would grow the cache without end, hence
  // the reset.
  const styleCache = new Map();

  function styleFor(sgr) {
    const signature = Object.values(sgr).join("|");
    let style = styleCache.get(signature);
    if (style === undefined) {
      if (styleCache.size >= 1024) styleCache.clear();
      style = buildStyle(sgr);
      styleCache.set(signature, style);
    }
    return style;
  }

  function buildStyle(sgr) {
    let fg = sgr.fg;
    let bg = sgr.bg;
    if (sgr.inverse) {
      fg = sgr.bg ?? "var(--output-bg)";
      bg = sgr.fg ?? "var(--output-fg)";
    }
    const css = {};
    if (fg) css.color = fg;
    if (bg) css.backgroundColor = bg;
    if (sgr.bold) css.fontWeight = "bold";
    if (sgr.dim) css.opacity = "0.65";
    if (sgr.italic) css.fontStyle = "italic";
    const lines = [sgr.underline && "underline", sgr.strike && "line-through"];
    const decoration = lines.filter(Boolean).join(" ");
    if (decoration) css.textDecoration = decoration;
    const key = JSON.stringify(css);
    return key === "{}" ? null : { key, css };
  }

  // Turns a stream's chunks into runs of printable text with their style.
  // SGR sequences set the style; every other escape or control is dropped.
  // A sequence cut at the end of a chunk waits in `carry` for the next one.
  class AnsiParser {
    constructor() {
      this.carry = "";
      this.inString = false;
      this.sgr = plainSgr();
      this.style = null;
    }

    feed(data, emit) {
      const s = this.carry + data;
      this.carry = "";
      let i = this.inString ? this.skipString(s, 0) : 0;
      while (i >= 0 && i < s.length) {
        SPECIAL.lastIndex = i;
        const found = SPECIAL.exec(s);
        const end = found ? found.index : s.length;
        if (end > i) emit(s.slice(i, end), this.style);
        if (!found) break;
        i = found[0] === ESC ? this.escape(s, end) : end + 1;
      }
    }

    // Returns where text resumes, or -1 when the rest of `s` was consumed.
    escape(s, at) {
      if (s[at + 1] === "[") {
        CSI.lastIndex = at;
        const m = CSI.exec(s);
        if (m) {
          if (m[3] === "m" && m[2] === "") this.applySgr(m[1]);
          return CSI.lastIndex;
        }
        return this.carryOrSkip(s, at, CSI_PARTIAL, 2);
      }
      if (STRING_INTRODUCERS.has(s[at + 1])) {
        this.inString = true;
        return this.skipString(s, at + 2);
      }
      ESC_OTHER.lastIndex = at;
      if (ESC_OTHER.test(s)) return ESC_OTHER.lastIndex;
      return this.carryOrSkip(s, at, ESC_OTHER_PARTIAL, 1);
    }

    carryOrSkip(s, at, partial, introducerLength) {
      partial.lastIndex = at;
      if (partial.test(s) && s.length - at <= MAX_CARRY) {
        this.carry = s.slice(at);
        return -1;
      }
      return at + introducerLength;
    }

    // OSC, DCS and the like are discarded up to BEL, CAN or SUB, or up to an
    // ESC, which is read as the start of the next sequence (ESC \ is ST), or
    // up to a newline, which is kept. Ending there stops an unterminated OSC
    // from swallowing the rest of the output.
    skipString(s, from) {
      STRING_END.lastIndex = from;
      const end = STRING_END.exec(s);
      if (!end) return -1;
      this.inString = false;
      return end[0] === ESC || end[0] === "\n" ? end.index : STRING_END.lastIndex;
    }

    applySgr(params) {
      if (/^[<=>?]/.test(params)) return; // private modes share the `m` final
      const parts = params.split(";");
      for (let i = 0; i < parts.length; i++) {
        if (parts[i].includes(":")) {
          this.applyColon(parts[i].split(":").map(Number));
          continue;
        }
        const code = Number(parts[i] || 0);
        if (code === 38 || code === 48) {
          const mode = Number(parts[i + 1]);
          const width = mode === 5 ? 1 : mode === 2 ? 3 : 0;
          const args = parts.slice(i + 2, i + 2 + width).map(Number);
          this.setColor(code, mode, args);
          i += 1 + width;
        } else {
          this.applyCode(code);
        }
      }
      this.style = styleFor(this.sgr);
    }

    // ISO 8613-6 form, e.g. 38:2::255:0:0 (with a colour-space id) or 38:5:n.
    applyColon([code, mode, ...rest]) {
      if (code === 38 || code === 48) {
        const withSpaceId = mode === 2 && rest.length >= 4;
        this.setColor(code, mode, withSpaceId ? rest.slice(1) : rest);
      } else if (code === 4) {
        this.sgr.underline = mode !== 0;
      }
    }

    setColor(code, mode, args) {
      let color = null;
      if (mode === 5) color = paletteColor(args[0]);
      else if (mode === 2) color = rgbColor(args);
      if (color) this.sgr[code === 38 ? "fg" : "bg"] = color;
    }

    applyCode(code) {
      const sgr = this.sgr;
      if (code === 0) this.sgr = plainSgr();
      else if (code === 1) sgr.bold = true;
      else if (code === 2) sgr.dim = true;
      else if (code === 3) sgr.italic = true;
      else if (code === 4) sgr.underline = true;
      else if (code === 7) sgr.inverse = true;
      else if (code === 9) sgr.strike = true;
      else if (code === 22) sgr.bold = sgr.dim = false;
      else if (code === 23) sgr.italic = false;
      else if (code === 24) sgr.underline = false;
      else if (code === 27) sgr.inverse = false;
      else if (code === 29) sgr.strike = false;
      else if (code >= 30 && code <= 37) sgr.fg = paletteColor(code - 30);
      else if (code === 39) sgr.fg = null;
      else if (code >= 40 && code <= 47) sgr.bg = paletteColor(code - 40);
      else if (code === 49) sgr.bg = null;
      else if (code >= 90 && code <= 97) sgr.fg = paletteColor(code - 82);
      else if (code >= 100 && code <= 107) sgr.bg = paletteColor(code - 92);
    }
  }

  // ── Output panel ────────────────────────────────────────────────────

  function countLines(text) {
    let n = 0;
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) n++;
    return n;
  }

  // Index just past the n-th newline of `text`, or its length if it has fewer.
  function afterLines(text, n) {
    let i = -1;
    while (n-- > 0) {
      i = text.indexOf("\n", i + 1);
      if (i === -1) return text.length;
    }
    return i + 1;
  }

  // Queues output and writes it once per animation frame, so a flood of
  // small frames costs one layout per frame instead of one per frame sent.
  //
  // The panel holds blocks ("chunks") of about CHUNK_LINES lines that begin
  // at a line start. One block of all the output would be one paragraph
  // that the browser lays out again in full on each append; chunks keep that
  // work to the last one, and trimming removes whole chunks.
  class OutputView {
    constructor(element) {
      this.element = element;
      this.clear();
    }

    clear() {
      this.element.replaceChildren();
      this.chunks = []; // {node, lines, last: {key, lineMark, node} | null}
      this.lines = 0;
      this.atLineStart = true;
      this.queue = []; // {kind: "text" | "block", cls, key, css, text, lines}
      this.queuedLines = 0;
      this.trimNote = null;
      if (this.frame) cancelAnimationFrame(this.frame);
      this.frame = 0;
    }

    text(text, cls, style) {
      const key = cls + (style ? style.key : "");
      const lines = countLines(text);
      const last = this.queue[this.queue.length - 1];
      if (last && last.kind === "text" && last.key === key) {
        last.text += text;
        last.lines += lines;
      } else {
        this.queue.push({ kind: "text", cls, key, css: style?.css, text, lines });
      }
      this.queued(lines);
    }

    block(cls, text) {
      this.queue.push({ kind: "block", cls, text, lines: 1 });
      this.queued(1);
    }

    queued(lines) {
      this.queuedLines += lines;
      // Animation frames pause in a background tab; the queue must not grow
      // without bound meanwhile.
      if (this.queuedLines > 2 * MAX_LINES) this.dropQueued(MAX_LINES);
      if (!this.frame) this.frame = requestAnimationFrame(() => this.flush());
    }

    flush() {
      if (this.frame) cancelAnimationFrame(this.frame);
      this.frame = 0;
      if (this.queue.length === 0) return;
      const el = this.element;
      const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 24;

      this.dropQueued(MAX_LINES);
      for (const item of this.queue) this.render(item);
      this.queue = [];
      this.queuedLines = 0;

      const heightBefore = atBottom ? 0 : el.scrollHeight;
      const trimmed = this.trim();
      // Keep what the reader is looking at in place while the top goes away.
      if (trimmed && !atBottom) el.scrollTop -= heightBefore - el.scrollHeight;
      if (atBottom) el.scrollTop = el.scrollHeight;
    }

    // stderr carries a margin mark on each of its lines. CSS repeats the mark
    // on every line box of a span, so a span with the mark must begin at the
    // start of a line: stderr text that begins mid-line is cut after its
    // first newline. Text is also cut where its chunk is full.
    render(item) {
      if (item.kind !== "text") {
        this.place(item, item.text, 1, false);
        this.atLineStart = true;
        return;
      }
      const marked = item.cls === "stderr";
      let text = item.text;
      while (text !== "") {
        const midLine = marked && !this.atLineStart;
        const cut = afterLines(text, midLine ? 1 : this.roomInChunk());
        const piece = text.slice(0, cut);
        this.place(item, piece, countLines(piece), marked && !midLine);
        this.atLineStart = piece.endsWith("\n");
        text = text.slice(cut);
      }
    }

    roomInChunk() {
      const chunk = this.chunks[this.chunks.length - 1];
      if (chunk && chunk.lines < CHUNK_LINES) return CHUNK_LINES - chunk.lines;
      return this.atLineStart ? CHUNK_LINES : 1;
    }

    place(item, text, lines, lineMark) {
      let chunk = this.chunks[this.chunks.length - 1];
      if (!chunk || (this.atLineStart && chunk.lines >= CHUNK_LINES)) {
        chunk = { node: document.createElement("div"), lines: 0, last: null };
        chunk.node.className = "chunk";
        this.element.append(chunk.node);
        this.chunks.push(chunk);
      }
      chunk.lines += lines;
      this.lines += lines;

      const last = chunk.last;
      const mergeable = item.kind === "text" && last?.key === item.key
        && (last.lineMark || !lineMark)
        && last.node.firstChild.length + text.length <= MERGE_MAX_CHARS;
      if (mergeable) {
        last.node.firstChild.appendData(text);
        return;
      }
      const node = document.createElement(item.kind === "text" ? "span" : "div");
      node.className = lineMark ? `${item.cls} line-start` : item.cls;
      if (item.css) Object.assign(node.style, item.css);
      node.textContent = text;
      chunk.node.append(node);
      chunk.last = item.kind === "text" ? { key: item.key, lineMark, node } : null;
    }

    trim() {
      let trimmed = false;
      while (this.lines > MAX_LINES && this.chunks.length > 1) {
        const oldest = this.chunks.shift();
        oldest.node.remove();
        this.lines -= oldest.lines;
        trimmed = true;
      }
      if (trimmed) this.noteTrim();
      return trimmed;
    }

    // Drops the oldest queued text so that at most `keep` lines stay queued.
    dropQueued(keep) {
      let excess = this.queuedLines - keep;
      if (excess <= 0) return;
      this.queuedLines = keep;
      while (excess > 0 && this.queue.length > 0) {
        const first = this.queue[0];
        if (first.lines <= excess) {
          this.queue.shift();
          excess -= first.lines;
        } else {
          first.text = first.text.slice(afterLines(first.text, excess));
          first.lines -= excess;
          excess = 0;
        }
      }
      this.noteTrim();
    }

    noteTrim() {
      if (this.trimNote) return;
      this.trimNote = document.createElement("div");
      this.trimNote.className = "note trim-note";
      this.trimNote.textContent = "… earlier output removed from view";
      this.element.prepend(this.trimNote);
    }
  }

  // ── Words for the status line ───────────────────────────────────────

  function seconds(ms) {
    return `${(ms / 1000).toFixed(2)} s`;
  }

  function bytes(n) {
    const units = [["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]];
    for (const [unit, size] of units) {
      if (n >= size) return `${(n / size).toFixed(1)} ${unit}`;
    }
    return `${n} B`;
  }

  function usage(frame) {
    const { wall_time: wall, cpu_time: cpu, memory } = frame;
    const parts = [];
    if (Number.isFinite(wall)) parts.push(`wall ${seconds(wall)}`);
    if (Number.isFinite(cpu)) parts.push(`CPU ${seconds(cpu)}`);
    if (Number.isFinite(memory)) parts.push(`memory ${bytes(memory)}`);
    return parts.map((part) => ` · ${part}`).join("");
  }

  // Returns [words, kind]; kind picks the status line's colour.
  function describeExit(frame) {
    const { status, code, message, signal } = frame;
    if (status === "XX") {
      const detail = message || "no details were given";
      const words = "The playground failed to run this program (our fault)";
      return [`${words}: ${detail}`, "error"];
    }
    if (status === "CE") return ["Compilation failed", "fail"];
    if (status == null && frame.stage === "compile") return ["Compiled", "ok"];
    if (status == null || status === "RE") {
      return [`Exited with code ${code}`, code === 0 ? "ok" : "fail"];
    }
    if (message) return [message, "fail"];
    return [signal ? `Ended by ${signal}` : `Ended with status ${status}`, "fail"];
  }

  function setStatus(text, kind = "") {
    ui.status.textContent = text;
    ui.status.dataset.kind = kind;
  }

  // ── Runtimes and the editor ─────────────────────────────────────────

  const dataElement = byId("runtimes-data");
  const runtimes = dataElement ? JSON.parse(dataElement.textContent) : [];
  // A snippet page or an embed says what to load and how (share.js).
  const pageElement = byId("page-data");
  const pageData = (pageElement && JSON.parse(pageElement.textContent)) || {};
  const embed = pageData.embed ?? null;

  // A language's name is its option value unless several versions share it.
  const nameCounts = new Map();
  for (const rt of runtimes) {
    nameCounts.set(rt.language, (nameCounts.get(rt.language) ?? 0) + 1);
  }
  const optionValue = (rt) =>
    nameCounts.get(rt.language) > 1 ? `${rt.language}@${rt.version}` : rt.language;

  function findRuntime(name) {
    const wanted = String(name).toLowerCase();
    const is = (text) => text.toLowerCase() === wanted;
    const matchers = [
      (rt) => is(optionValue(rt)),
      (rt) => is(`${rt.language}@${rt.version}`) || is(`${rt.language} ${rt.version}`),
      (rt) => is(rt.language),
      (rt) => (rt.aliases ?? []).some(is),
    ];
    for (const matches of matchers) {
      const found = runtimes.find(matches);
      if (found) return found;
    }
    return null;
  }

  for (const rt of runtimes) {
    ui.language.append(new Option(`${rt.language} ${rt.version}`, optionValue(rt)));
  }
  // A read-only embed keeps its code and language, unless that language is
  // not installed here and the reader has to choose one.
  ui.language.disabled = Boolean(embed?.readonly && pageData.snippet?.runtime);
  // The last language chosen comes back on the next visit; storage may be
  // unavailable (private windows, blocked cookies), which costs only that.
  const LANGUAGE_KEY = "playground.language";
  function rememberLanguage(rt) {
    try {
      window.localStorage.setItem(LANGUAGE_KEY, optionValue(rt));
    } catch {
      // nothing to remember it in
    }
  }
  function rememberedLanguage() {
    try {
      return window.localStorage.getItem(LANGUAGE_KEY);
    } catch {
      return null;
    }
  }
  const remembered = rememberedLanguage();
  let current =
    (remembered && findRuntime(remembered)) ?? findRuntime("python") ?? runtimes[0] ?? null;
  if (current) ui.language.value = optionValue(current);
  // What a snippet brings besides the editor's text; runs send it unchanged.
  let firstName = "";
  let otherFiles = [];
  let args = [];

  function makeEditor() {
    const options = {
      language: current?.editor_mode ?? "",
      doc: current?.starter ?? "",
      onRun: startRun,
      readOnly: Boolean(embed?.readonly),
      nonce: document.querySelector('meta[name="csp-nonce"]')?.content ?? "",
    };
    if (window.PlaygroundEditor) {
      return window.PlaygroundEditor.create(ui.editor, options);
    }

    // Without the bundle a plain text area keeps the page usable.
    const area = document.createElement("textarea");
    area.className = "plain-editor";
    area.spellcheck = false;
    area.readOnly = options.readOnly;
    area.value = options.doc;
    area.setAttribute("aria-label", "Code editor");
    area.addEventListener("keydown", runOnModEnter);
    ui.editor.append(area);
    return {
      getCode: () => area.value,
      setCode: (text) => { area.value = String(text); },
      setLanguage() {},
      focus: () => area.focus(),
    };
  }

  function switchLanguage(next, { ask }) {
    const starter = current?.starter ?? "";
    const code = editor.getCode();
    current = next;
    ui.language.value = optionValue(next);
    editor.setLanguage(next.editor_mode);

    const untouched = code === starter || code.trim() === "";
    const question = `Replace your code with the ${next.language} starter program?`;
    if (untouched || (ask && window.confirm(question))) {
      editor.setCode(next.starter ?? "");
    }
  }

  function runOnModEnter(event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      startRun();
    }
  }

  // ── A run ───────────────────────────────────────────────────────────

  const view = new OutputView(ui.output);
  let active = null;

  function socketUrl() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}/api/v2/connect`;
  }

  function send(run, frame) {
    const state = run.socket.readyState;
    if (state === WebSocket.OPEN) run.socket.send(JSON.stringify(frame));
    else if (state === WebSocket.CONNECTING) run.outbox.push(frame);
  }

  function startRun() {
    if (active || !current) return;
    const stdin = ui.stdin.value;
    const init = {
      type: "init",
      language: current.language,
      version: current.version,
      files: currentFiles(),
      args,
    };
    if (stdin !== "") init.stdin = stdin;

    view.clear();
    document.dispatchEvent(new CustomEvent("playground:run"));
    const run = {
      socket: new WebSocket(socketUrl()),
      parsers: { stdout: new AnsiParser(), stderr: new AnsiParser() },
      outbox: [init],
      opened: false,
      stageOpen: false,
      lastExit: null,
      errorShown: false,
      stopping: false,
      timer: 0,
      // Input given up front ends with EOF, as a file redirected to stdin does.
      stdinOpen: stdin === "",
      label: `${current.language} ${current.version}`,
      returnFocusTo: document.activeElement,
    };
    if (!run.stdinOpen) run.outbox.push({ type: "close_stdin" });
    active = run;
    showRunning(run);
    setStatus(`Connecting to run ${run.label}…`);

    run.socket.addEventListener("open", () => onOpen(run));
    run.socket.addEventListener("message", (event) => onMessage(run, event.data));
    run.socket.addEventListener("close", () => onClose(run));
  }

  function onOpen(run) {
    if (run !== active) return;
    run.opened = true;
    for (const frame of run.outbox.splice(0)) send(run, frame);
    if (!run.stopping) setStatus(`Starting ${run.label}…`);
  }

  function onMessage(run, raw) {
    if (run !== active) return;
    let frame;
    try {
      frame = JSON.parse(raw);
    } catch {
      return; // the protocol only has JSON frames; anything else is noise
    }
    if (frame.type === "runtime") onRuntime(run, frame);
    else if (frame.type === "stage") onStage(run, frame);
    else if (frame.type === "data") onData(run, frame);
    else if (frame.type === "exit") onExit(run, frame);
    else if (frame.type === "error") onError(run, frame);
    else if (frame.type === "queue") onQueue(run, frame);
  }

  function onRuntime(run, frame) {
    run.label = `${frame.language} ${frame.version}`;
    if (!run.stopping) setStatus(`Running ${run.label}…`);
  }

  function onQueue(run, frame) {
    // Sent while every sandbox is busy; the first stage frame ends the wait.
    const ahead = frame.position === 1 ? "1 run" : `${frame.position} runs`;
    if (!run.stopping && !run.stageOpen) {
      setStatus(`Waiting for a free sandbox: ${ahead} ahead of yours…`);
    }
  }

  function onStage(run, frame) {
    run.stageOpen = true;
    // Each stage is a new process: colours set by the last one do not carry.
    run.parsers = { stdout: new AnsiParser(), stderr: new AnsiParser() };
    const words = { compile: "compiling", run: "running" }[frame.stage] ?? frame.stage;
    view.block("stage", `${words}…`);
    const capitalised = words[0].toUpperCase() + words.slice(1);
    if (!run.stopping) setStatus(`${capitalised} ${run.label}…`);
  }

  function onData(run, frame) {
    const parser = run.parsers[frame.stream];
    if (!parser || typeof frame.data !== "string") return;
    const cls = frame.stream === "stderr" ? "stderr" : "stdout";
    parser.feed(frame.data, (text, style) => view.text(text, cls, style));
  }

  function onExit(run, frame) {
    run.stageOpen = false;
    run.lastExit = frame;
    if (frame.truncated) {
      view.block("note", "Output cut here: the output cap was reached");
    }
    // Whoever reads the status (a person or a test) expects the output it
    // describes to be on screen already.
    view.flush();
    const [words, kind] = describeExit(frame);
    setStatus(words + usage(frame), kind);

    // The server closes the socket after the last stage; should it not, the
    // page must not stay busy, and a next stage cancels this.
    clearTimeout(run.timer);
    if (frame.stage !== "compile" || frame.status != null) {
      run.timer = setTimeout(() => abandon(run), STOP_GRACE_MS);
    }
  }

  function onError(run, frame) {
    run.errorShown = true;
    view.flush();
    setStatus(`Error: ${frame.message ?? "the server reported an error"}`, "error");
  }

  function onClose(run) {
    if (run !== active) return;
    const ended = run.lastExit !== null && !run.stageOpen;
    if (!ended && !run.errorShown) {
      const why = run.opened ? "" : ": the playground server could not be reached";
      setStatus(`Connection lost${why}`, "error");
    }
    finish(run);
  }

  function stopRun() {
    const run = active;
    if (!run || run.stopping) return;
    run.stopping = true;
    ui.stop.disabled = true;
    setStatus("Stopping…");
    if (!run.opened) {
      abandon(run, "Stopped before the run started");
      return;
    }
    send(run, { type: "signal", signal: "SIGKILL" });
    clearTimeout(run.timer);
    run.timer = setTimeout(() => {
      const confirmed = run.lastExit !== null && !run.stageOpen;
      abandon(run, confirmed ? "" : "Stopped; the server did not confirm in time");
    }, STOP_GRACE_MS);
  }

  // Closing the socket ends the run on the server too; the page does not
  // wait for the close handshake, which a stuck server may never finish.
  function abandon(run, words) {
    if (run !== active) return;
    run.socket.close();
    if (words) setStatus(words, "fail");
    finish(run);
  }

  function finish(run) {
    clearTimeout(run.timer);
    view.flush();
    const focus = document.activeElement;
    const focusWasInRow = ui.inputRow.contains(focus) || focus === document.body;
    active = null;
    showIdle();
    if (!focusWasInRow) return;
    if (ui.editor.contains(run.returnFocusTo)) editor.focus();
    else if (run.returnFocusTo?.isConnected) run.returnFocusTo.focus();
  }

  // ── Interactive input ───────────────────────────────────────────────

  function sendInput(text) {
    send(active, { type: "data", stream: "stdin", data: text });
    view.text(text, "stdin-echo", null);
  }

  function sendLine() {
    if (!active?.stdinOpen) return;
    sendInput(`${ui.input.value}\n`);
    ui.input.value = "";
  }

  function sendEof() {
    if (!active?.stdinOpen) return;
    if (ui.input.value !== "") sendInput(ui.input.value);
    send(active, { type: "close_stdin" });
    active.stdinOpen = false;
    ui.input.value = "";
    showInputState(active);
  }

  function showInputState(run) {
    ui.input.disabled = ui.eof.disabled = !run.stdinOpen;
    ui.input.placeholder = run.stdinOpen ? "" : "Input closed (EOF sent)";
  }

  function showRunning(run) {
    ui.run.disabled = true;
    ui.stop.disabled = false;
    ui.inputRow.hidden = false;
    showInputState(run);
    if (run.stdinOpen) ui.input.focus();
  }

  function showIdle() {
    ui.run.disabled = runtimes.length === 0;
    ui.stop.disabled = true;
    ui.inputRow.hidden = true;
    ui.input.value = "";
  }

  // ── Snippets ────────────────────────────────────────────────────────

  function currentFiles() {
    const first = { content: editor.getCode() };
    if (firstName) first.name = firstName;
    return [first, ...otherFiles];
  }

  // Loads shared content: its exact runtime when installed, else the one the
  // server chose (the page then shows a "saved with X, running on Y" note).
  function load(content) {
    const wanted = content.runtime ?? content;
    const rt = findRuntime(`${wanted.language}@${wanted.version}`)
      ?? findRuntime(wanted.language);
    if (rt && rt !== current) switchLanguage(rt, { ask: false });
    const [first, ...rest] = content.files ?? [];
    firstName = first?.name ?? "";
    otherFiles = rest;
    args = content.args ?? [];
    editor.setCode(first?.content ?? "");
    ui.stdin.value = content.stdin ?? "";
  }

  function state() {
    return {
      language: current?.language ?? "",
      version: current?.version ?? "",
      files: currentFiles(),
      stdin: ui.stdin.value,
      args,
    };
  }

  function stopOnShortcut(event) {
    const mod = event.ctrlKey || event.metaKey;
    if (mod && event.shiftKey && event.key === "Enter") {
      event.preventDefault();
      event.stopPropagation();
      stopRun();
    }
  }

  // ── Wiring ──────────────────────────────────────────────────────────

  const editor = makeEditor();

  ui.run.addEventListener("click", startRun);
  // Capture, so that the editor's own key bindings do not see it first.
  window.addEventListener("keydown", stopOnShortcut, true);
  ui.stop.addEventListener("click", stopRun);
  ui.eof.addEventListener("click", sendEof);
  ui.stdin.addEventListener("keydown", runOnModEnter);
  ui.language.addEventListener("change", () => {
    const next = runtimes.find((rt) => optionValue(rt) === ui.language.value);
    if (next && next !== current) switchLanguage(next, { ask: true });
    // Only the reader's own choice is remembered, not a page's setLanguage.
    if (next) rememberLanguage(next);
  });
  ui.input.addEventListener("keydown", (event) => {
    if (event.isComposing) return;
    const ctrlOnly = event.ctrlKey && !event.altKey && !event.metaKey;
    if (event.key === "Enter") {
      event.preventDefault();
      sendLine();
    } else if (ctrlOnly && event.key.toLowerCase() === "d") {
      event.preventDefault();
      sendEof();
    }
  });

  showIdle();
  if (runtimes.length === 0) setStatus("No languages are available right now", "error");
  if (pageData.snippet) load(pageData.snippet);

  window.playground = {
    load,
    state,
    run: startRun,
    getCode: () => editor.getCode(),
    setCode: (text) => editor.setCode(text),
    // Switches without asking: unedited starter code is replaced, edits kept.
    setLanguage(name) {
      const rt = findRuntime(name);
      if (!rt) {
        const known = runtimes.map(optionValue).join(", ");
        throw new Error(`unknown language "${name}"; known: ${known}`);
      }
      if (rt !== current) switchLanguage(rt, { ask: false });
    },
  };
})();
