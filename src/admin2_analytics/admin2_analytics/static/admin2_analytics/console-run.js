// A console run in progress: name it, show elapsed time, rows and bytes read, and Stop it
// (also when the page is closed or left). The run itself stays the form's CSRF-checked POST.
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

    form.addEventListener("submit", (event) => {
      const exporting = event.submitter && event.submitter.getAttribute("formaction");
      if (exporting) { runField.value = ""; return; }
      running = newRunId();
      runField.value = running;
      stopButton.hidden = false;
      stopButton.disabled = false;
      status.textContent = "Running…";
      const began = performance.now();
      timer = setInterval(async () => {
        const seconds = ((performance.now() - began) / 1000).toFixed(1);
        try {
          const response = await fetch(`${form.dataset.progressUrl}?run=${running}`,
                                       { credentials: "same-origin" });
          const seen = response.ok ? await response.json() : {};
          if (seen.running) {
            status.textContent = `Running ${seconds} s · ${seen.read_rows.toLocaleString()} rows, ` +
              `${size(seen.read_bytes)} read`;
            return;
          }
        } catch (error) { /* the next tick tries again */ }
        status.textContent = `Running ${seconds} s`;
      }, 500);
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
      clearInterval(timer);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
