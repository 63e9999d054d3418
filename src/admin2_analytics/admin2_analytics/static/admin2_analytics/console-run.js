// A console run in progress: name it, show elapsed time, rows and bytes read, and Stop it
// (also when the page is closed or left). The run is the form's own CSRF-checked POST, sent
// by fetch so the page stays usable while it runs; without JavaScript the form posts itself.
(function () {
  "use strict";

  function newRunId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function size(bytes) {
    const units = ["B", "KB", "MB", "GB", "TB"];
    let value = bytes, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
  }

  function start() {
    const form = document.getElementById("console-form");
    if (!form) return;
    const runField = document.getElementById("run-id");
    const stopButton = document.getElementById("stop-button");
    const status = document.getElementById("run-progress");
    const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    let running = null;
    let timer = null;

    const stopRequest = (runId) => {
      const body = new FormData();
      body.append("run", runId);
      body.append("csrfmiddlewaretoken", csrf);
      return body;
    };

    const finish = () => {
      clearInterval(timer);
      running = null;
      stopButton.hidden = true;
      status.textContent = "";
    };

    // The page's new output (results, error, links) replaces the old; the form and the
    // editor stay as they are. Field errors (a refusal before the run) are copied over.
    const show = (html) => {
      const next = new DOMParser().parseFromString(html, "text/html");
      const output = next.getElementById("console-output");
      if (!output) { // not the console (a login page, a server error): show it whole
        document.documentElement.innerHTML = next.documentElement.innerHTML;
        return;
      }
      document.getElementById("console-output").replaceWith(document.adoptNode(output));
      form.querySelectorAll(".errorlist").forEach((list) => list.remove());
      const rows = Array.from(form.querySelectorAll(".form-row"));
      next.querySelectorAll("#console-form .form-row").forEach((row, index) => {
        const errors = row.querySelector(".errorlist");
        if (errors && rows[index]) rows[index].prepend(document.adoptNode(errors));
      });
      document.dispatchEvent(new CustomEvent("admin2:console-output"));
    };

    form.addEventListener("submit", async (event) => {
      const exporting = event.submitter && event.submitter.getAttribute("formaction");
      if (exporting) { runField.value = ""; return; } // a download: the browser's own
      event.preventDefault();
      if (running) return; // one run at a time from this page
      running = newRunId();
      runField.value = running;
      const runId = running;
      stopButton.hidden = false;
      stopButton.disabled = false;
      status.textContent = "Running…";
      const began = performance.now();
      timer = setInterval(async () => {
        const seconds = ((performance.now() - began) / 1000).toFixed(1);
        try {
          const response = await fetch(`${form.dataset.progressUrl}?run=${runId}`,
                                       { credentials: "same-origin" });
          const seen = response.ok ? await response.json() : {};
          if (running === runId && seen.running) {
            status.textContent = `Running ${seconds} s · ${seen.read_rows.toLocaleString()} rows, ` +
              `${size(seen.read_bytes)} read`;
            return;
          }
        } catch (error) { /* the next tick tries again */ }
        if (running === runId) status.textContent = `Running ${seconds} s`;
      }, 500);
      try {
        const body = new FormData(form, event.submitter || undefined);
        const response = await fetch(form.action, {
          method: "POST", body, credentials: "same-origin",
        });
        show(await response.text());
      } catch (error) {
        status.textContent = `The run could not be sent: ${error}`;
        clearInterval(timer);
        running = null;
        stopButton.hidden = true;
        return;
      }
      finish();
    });

    stopButton.addEventListener("click", async () => {
      if (!running) return;
      stopButton.disabled = true;
      status.textContent = "Stopping…";
      await fetch(form.dataset.stopUrl, {
        method: "POST", body: stopRequest(running), credentials: "same-origin",
      });
      // The run's own response arrives next and says it was stopped.
    });

    // Leaving or closing the page while a run is on the engine stops it there too.
    window.addEventListener("pagehide", () => {
      if (!running) return;
      navigator.sendBeacon(form.dataset.stopUrl, stopRequest(running));
      finish();
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
