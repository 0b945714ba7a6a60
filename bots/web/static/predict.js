// Proposals list: fill the "Predicted" column from the JSON API, two requests at a time,
// so the page renders at once and each prediction appears when the prediction service answers.
(function () {
  "use strict";
  const cells = Array.from(document.querySelectorAll("td.predicted[data-prediction-url]"));
  const pct = (x) => Math.round(x * 100) + "%";

  async function fill(cell) {
    try {
      const response = await fetch(cell.dataset.predictionUrl, { credentials: "same-origin" });
      const body = await response.json();
      const p = body.prediction;
      if (!response.ok) {
        cell.textContent = "unavailable";
        cell.title = body.error || String(response.status);
      } else if (!p || p.p_pass === null || p.p_pass === undefined) {
        cell.textContent = "no prediction";
      } else {
        cell.innerHTML = "";
        const strong = document.createElement("span");
        strong.className = "prob";
        strong.textContent = pct(p.p_pass) + " pass";
        cell.appendChild(strong);
        if (p.low !== null && p.high !== null) {
          cell.appendChild(document.createTextNode(" (" + pct(p.low) + "–" + pct(p.high) + ")"));
        }
        cell.title = (p.method || "") + " " + (p.model_id || "");
      }
    } catch (err) {
      cell.textContent = "unavailable";
    }
    cell.dataset.done = "1";
  }

  async function worker() {
    while (cells.length) {
      await fill(cells.shift());
    }
  }
  worker();
  worker();
})();
