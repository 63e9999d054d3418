// The console's result grid: sort, search, copy as TSV and thousands separators, all on the
// server's text of each value (never JavaScript numbers, so 64-bit integers and Decimals stay
// exact). Without JavaScript the table is still there, unsorted.
(function () {
  "use strict";

  // Compare two decimal strings as numbers ("-12.50" < "3"), exactly, without parsing.
  function compareNumbers(a, b) {
    const special = { nan: 3, inf: 2, "+inf": 2, "-inf": -2 };
    const ka = special[a.toLowerCase()], kb = special[b.toLowerCase()];
    if (ka !== undefined || kb !== undefined) return (ka || 0) - (kb || 0) || 0;
    const na = a.startsWith("-"), nb = b.startsWith("-");
    if (na !== nb) return na ? -1 : 1;
    const sign = na ? -1 : 1;
    const [ia, fa = ""] = a.replace(/^[-+]/, "").split(".");
    const [ib, fb = ""] = b.replace(/^[-+]/, "").split(".");
    const ta = ia.replace(/^0+(?=\d)/, ""), tb = ib.replace(/^0+(?=\d)/, "");
    if (ta.length !== tb.length) return sign * (ta.length - tb.length);
    if (ta !== tb) return sign * (ta < tb ? -1 : 1);
    const width = Math.max(fa.length, fb.length);
    const pa = fa.padEnd(width, "0"), pb = fb.padEnd(width, "0");
    return pa === pb ? 0 : sign * (pa < pb ? -1 : 1);
  }

  function withSeparators(text) {
    const match = /^([-+]?)(\d+)(\.\d+)?$/.exec(text);
    if (!match) return text;
    return match[1] + match[2].replace(/\B(?=(\d{3})+(?!\d))/g, "\u202f") + (match[3] || "");
  }

  function start() {
    const table = document.getElementById("console-result");
    const tools = document.getElementById("grid-tools");
    if (!table || !tools) return;
    tools.hidden = false;
    const body = table.tBodies[0];
    const headers = Array.from(table.tHead.rows[0].cells);
    const rows = Array.from(body.rows).filter((row) => row.cells.length === headers.length);
    // The exact text of each cell, kept aside: the display may add separators.
    rows.forEach((row) => Array.from(row.cells).forEach((cell) => {
      cell.dataset.value = cell.classList.contains("analytics-null") ? "" : cell.textContent;
      if (cell.classList.contains("analytics-null")) cell.dataset.null = "1";
    }));
    const status = document.getElementById("grid-status");
    let sorted = { column: -1, direction: 1 };

    headers.forEach((header, index) => {
      header.tabIndex = 0;
      header.setAttribute("aria-sort", "none");
      const sort = () => {
        const direction = sorted.column === index ? -sorted.direction : 1;
        sorted = { column: index, direction };
        const numeric = header.dataset.numeric === "1";
        const ordered = rows.slice().sort((x, y) => {
          const a = x.cells[index], b = y.cells[index];
          if (a.dataset.null || b.dataset.null) {
            return (a.dataset.null ? 1 : 0) - (b.dataset.null ? 1 : 0); // NULLs last
          }
          const va = a.dataset.value, vb = b.dataset.value;
          const order = numeric ? compareNumbers(va, vb) : va < vb ? -1 : va > vb ? 1 : 0;
          return direction * order;
        });
        ordered.forEach((row) => body.appendChild(row));
        headers.forEach((h) => h.setAttribute("aria-sort", "none"));
        header.setAttribute("aria-sort", direction === 1 ? "ascending" : "descending");
      };
      header.addEventListener("click", sort);
      header.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(); }
      });
    });

    const search = document.getElementById("grid-search");
    search.addEventListener("input", () => {
      const needle = search.value.toLowerCase();
      let shown = 0;
      rows.forEach((row) => {
        const hit = !needle || Array.from(row.cells).some(
          (cell) => cell.dataset.value.toLowerCase().includes(needle));
        row.hidden = !hit;
        if (hit) shown += 1;
      });
      status.textContent = needle ? `${shown} of ${rows.length} rows match` : "";
    });

    const separators = document.getElementById("grid-separators");
    separators.addEventListener("change", () => {
      rows.forEach((row) => Array.from(row.cells).forEach((cell) => {
        if (!cell.classList.contains("analytics-num")) return;
        cell.textContent = separators.checked ? withSeparators(cell.dataset.value) : cell.dataset.value;
      }));
    });

    document.getElementById("grid-copy").addEventListener("click", async () => {
      const escape = (text) => text.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n");
      const lines = [headers.map((h) => escape(h.firstChild.textContent)).join("\t")];
      rows.filter((row) => !row.hidden).forEach((row) => {
        lines.push(Array.from(row.cells).map(
          (cell) => (cell.dataset.null ? "\\N" : escape(cell.dataset.value))).join("\t"));
      });
      const text = lines.join("\n") + "\n";
      try {
        await navigator.clipboard.writeText(text);
        status.textContent = `Copied ${lines.length - 1} rows`;
      } catch (error) {
        status.textContent = "The browser did not allow copying";
      }
      document.body.dataset.copied = text;
    });

    // A long value opens whole on click (and closes again).
    body.addEventListener("click", (event) => {
      const cell = event.target.closest("td.analytics-long");
      if (cell) cell.classList.toggle("analytics-open");
    });
  }

  function schemaSearch() {
    const input = document.getElementById("schema-search");
    if (!input) return;
    const tables = Array.from(document.querySelectorAll("#schema-tree > li"));
    input.addEventListener("input", () => {
      const needle = input.value.trim().toLowerCase();
      tables.forEach((item) => {
        const hit = !needle || item.dataset.search.includes(needle);
        item.hidden = !hit;
        const details = item.querySelector("details");
        if (details) details.open = Boolean(needle) && hit && !item.dataset.search.split(" ")[0].includes(needle);
      });
    });
  }

  document.addEventListener("admin2:console-output", start);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => { start(); schemaSearch(); });
  } else {
    start();
    schemaSearch();
  }
})();
