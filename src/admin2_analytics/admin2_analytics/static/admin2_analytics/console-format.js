// The Format button: the server lays the SQL out (its tokens and syntax tree checked
// unchanged, the guard run again) and the editor takes the result as one undoable change.
// Without JavaScript the button posts the form and the console comes back laid out.
(function () {
  "use strict";

  function start() {
    const button = document.getElementById("format-button");
    const form = document.getElementById("console-form");
    if (!button || !form) return;
    const status = document.getElementById("run-progress");
    button.addEventListener("click", async (event) => {
      event.preventDefault();
      const textarea = document.getElementById("id_sql");
      const editor = window.admin2Editor;
      if (editor) textarea.value = editor.state.doc.toString();
      button.disabled = true;
      try {
        const response = await fetch(button.getAttribute("formaction"), {
          method: "POST",
          body: new FormData(form),
          credentials: "same-origin",
          headers: { Accept: "application/json" },
        });
        const answer = await response.json();
        if (answer.error) {
          status.textContent = answer.error;
          return;
        }
        status.textContent = "";
        if (editor) {
          editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: answer.sql } });
        } else {
          textarea.value = answer.sql;
          textarea.dispatchEvent(new Event("input", { bubbles: true }));
        }
        document.body.dataset.formatted = "1";
      } catch (error) {
        status.textContent = "The SQL could not be formatted (the server did not answer).";
      } finally {
        button.disabled = false;
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
