// The SQL console's editor: CodeMirror 6 over the real <textarea> (which stays the form
// field, so the page works without JavaScript), with ClickHouse highlighting, completion
// from the schema seam, Mod-Enter to run and Tab to indent (Escape, then Tab, leaves).
import { EditorView, basicSetup } from "codemirror";
import { keymap } from "@codemirror/view";
import { indentWithTab } from "@codemirror/commands";
import { sql } from "@codemirror/lang-sql";
import { ClickHouse } from "./clickhouse.js";

function runKey(form) {
  return {
    key: "Mod-Enter",
    preventDefault: true,
    run() {
      const button = form.querySelector("#run-button");
      form.requestSubmit(button || undefined);
      return true;
    },
  };
}

// Columns of every table, unqualified: `SELECT ev` offers event_time before any FROM.
// Tables named in the statement come first.
function columnSource(catalog) {
  return (context) => {
    const word = context.matchBefore(/[A-Za-z_][A-Za-z0-9_]*/);
    if (!word && !context.explicit) return null;
    const before = context.state.sliceDoc(Math.max(0, (word ? word.from : context.pos) - 1),
                                          word ? word.from : context.pos);
    if (before === ".") return null; // qualified names: lang-sql's schema source answers
    const text = context.state.doc.toString();
    const seen = new Map();
    for (const table of catalog.tables) {
      const named = new RegExp("\\b" + table.name.replace(/[^A-Za-z0-9_]/g, "") + "\\b").test(text);
      for (const column of table.columns) {
        const previous = seen.get(column.name);
        if (previous && (!named || previous.boost > 0)) continue;
        seen.set(column.name, {
          label: column.name,
          type: "property",
          detail: column.type,
          info: [table.database + "." + table.name, column.comment].filter(Boolean).join(": "),
          boost: named ? 5 : 0,
        });
      }
    }
    const functions = catalog.functions.map((name) => ({
      label: name, type: "function", detail: "function", boost: -1,
    }));
    return {
      from: word ? word.from : context.pos,
      options: [...seen.values(), ...functions],
      validFor: /^[A-Za-z0-9_]*$/,
    };
  };
}

function namespace(catalog) {
  const tree = {};
  for (const table of catalog.tables) {
    tree[table.database] ||= {};
    tree[table.database][table.name] = {
      self: { label: table.name, type: "type", detail: table.engine, info: table.comment || undefined },
      children: table.columns.map((column) => ({
        label: column.name, type: "property", detail: column.type, info: column.comment || undefined,
      })),
    };
  }
  return tree;
}

async function loadCatalog(url) {
  const embedded = document.getElementById("console-catalog");
  if (embedded) return JSON.parse(embedded.textContent);
  if (!url) return { tables: [], functions: [], database: "" };
  try {
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok) throw new Error(String(response.status));
    return await response.json();
  } catch (error) {
    console.warn("admin2: the schema for completion could not be loaded", error);
    return { tables: [], functions: [], database: "" };
  }
}

async function start() {
  const textarea = document.querySelector("textarea#id_sql");
  if (!textarea) return;
  const form = textarea.form;
  const catalog = await loadCatalog(form.dataset.schemaUrl);
  const language = sql({
    dialect: ClickHouse,
    upperCaseKeywords: true,
    schema: namespace(catalog),
    defaultSchema: catalog.database || undefined,
  });
  const view = new EditorView({
    doc: textarea.value,
    extensions: [
      keymap.of([runKey(form), indentWithTab]),
      basicSetup,
      language,
      language.language.data.of({ autocomplete: columnSource(catalog) }),
      EditorView.lineWrapping,
      EditorView.contentAttributes.of({ "aria-label": "SQL", "data-testid": "sql-editor" }),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) {
          textarea.value = update.state.doc.toString();
          textarea.dispatchEvent(new Event("input", { bubbles: true }));
        }
      }),
    ],
  });
  textarea.hidden = true;
  textarea.insertAdjacentElement("afterend", view.dom);
  view.dom.classList.add("analytics-editor");
  form.addEventListener("submit", () => { textarea.value = view.state.doc.toString(); });
  // Names clicked in the schema panel go into the editor at the cursor.
  document.addEventListener("click", (event) => {
    const target = event.target.closest("[data-insert]");
    if (!target) return;
    event.preventDefault();
    view.dispatch(view.state.replaceSelection(target.dataset.insert));
    view.focus();
  });
  window.admin2Editor = view;
  document.body.dataset.editorReady = "1";
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
