// A job-ticket batch's page: poll its status until the PDF is ready (or the batch failed).
(function () {
  "use strict";
  const root = document.getElementById("ticket-batch");
  if (!root) return;
  const url = root.dataset.statusUrl;
  const state = document.getElementById("batch-state");
  const done = document.getElementById("batch-done");
  const bar = document.getElementById("batch-progress");
  const error = document.getElementById("batch-error");
  const download = document.getElementById("batch-download");
  const wait = document.getElementById("batch-wait");
  let delay = 1000;

  async function poll() {
    let status;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(String(response.status));
      status = await response.json();
    } catch (_) {
      delay = Math.min(delay * 2, 10000); // the server is busy or away: ask less often
      setTimeout(poll, delay);
      return;
    }
    state.textContent = status.stateLabel;
    done.textContent = String(status.done);
    bar.value = status.done;
    bar.textContent = status.percent + "%";
    if (status.error) {
      error.textContent = status.error;
      error.hidden = false;
    }
    if (status.downloadUrl) {
      download.href = status.downloadUrl;
      download.hidden = false;
    }
    if (status.finished) {
      if (wait) wait.hidden = true;
      return;
    }
    delay = 1000;
    setTimeout(poll, delay);
  }

  if (!download.hidden || root.querySelector("#batch-error:not([hidden])")) return;
  setTimeout(poll, delay);
})();
