// A scan station (/ops/scan/<station>/): a USB scanner acting as a keyboard types the ticket's
// code and Enter. The field keeps focus (after each scan, and whenever it loses it to nothing in
// particular), each code is posted in the background (ops:scan-json, CSRF token in a header) in the
// order scanned, and the answer is shown big — green moved / already there, red refused or unknown —
// with a sound made by the Web Audio API (no audio files). Without JavaScript the form posts and
// the page comes back with the result.
(function () {
  "use strict";

  var root = document.getElementById("scan-station");
  var form = document.getElementById("scan-form");
  var input = document.getElementById("scan-code");
  if (!root || !form || !input || !window.fetch) return;
  var result = document.getElementById("scan-result");
  var log = document.getElementById("scan-log");
  var csrf = form.querySelector('input[name="csrfmiddlewaretoken"]').value;
  var MAX_LOG = 10;

  // --- focus: the scanner types wherever the focus is -------------------------------------------
  function refocus() {
    if (document.activeElement !== input) input.focus({ preventScroll: true });
  }
  input.addEventListener("blur", function (event) {
    // Leave the focus alone when the operator moved it somewhere on purpose (a link, a button).
    var to = event.relatedTarget;
    if (to && to !== document.body && /^(A|BUTTON|SELECT|INPUT|TEXTAREA)$/.test(to.tagName)) return;
    setTimeout(refocus, 0);
  });
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) refocus();
  });
  window.addEventListener("focus", refocus);
  refocus();

  // --- sound --------------------------------------------------------------------------------------
  var audio = null;
  function tone(frequency, start, length, type) {
    var oscillator = audio.createOscillator();
    var gain = audio.createGain();
    oscillator.type = type;
    oscillator.frequency.value = frequency;
    var at = audio.currentTime + start;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.35, at + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + length);
    oscillator.connect(gain).connect(audio.destination);
    oscillator.start(at);
    oscillator.stop(at + length + 0.02);
  }
  function unlockAudio() {
    // Browsers start audio only after a user gesture; a key press (the scanner's typing) is one.
    var Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    if (!audio) {
      try { audio = new Context(); } catch (e) { audio = null; return; }
    }
    if (audio.state === "suspended") audio.resume();
  }
  function play(outcome) {
    if (!audio) return;
    try {
      if (outcome === "moved") {
        tone(880, 0, 0.12, "sine");
        tone(1320, 0.13, 0.18, "sine");
      } else if (outcome === "already") {
        tone(660, 0, 0.15, "sine");
      } else {
        tone(180, 0, 0.35, "square");
        tone(140, 0.38, 0.35, "square");
      }
    } catch (e) { /* no sound: the banner says it all */ }
  }
  input.addEventListener("keydown", unlockAudio);
  form.addEventListener("pointerdown", unlockAudio);

  // --- showing a result ---------------------------------------------------------------------------
  function show(scan) {
    result.hidden = false;
    result.className = "scan-result " + (scan.ok ? "ok" : "refused") + " " + scan.outcome;
    result.querySelector('[data-field="headline"]').textContent = scan.reference || "Unknown code";
    result.querySelector('[data-field="customer"]').textContent = scan.customer || "";
    result.querySelector('[data-field="message"]').textContent = scan.message;
    result.querySelector('[data-field="stage"]').textContent = scan.stage ? "Now at " + scan.stage : "";
    void result.offsetWidth; // restart the flash
    result.classList.add("flash");
    play(scan.outcome);
    addToLog(scan);
  }

  function addToLog(scan) {
    var empty = log.querySelector(".empty");
    if (empty) empty.remove();
    var item = document.createElement("li");
    item.className = (scan.ok ? "ok" : "refused") + " " + scan.outcome;
    var time = document.createElement("time");
    time.textContent = scan.time;
    item.appendChild(time);
    item.appendChild(document.createTextNode(" "));
    if (scan.reference) {
      var link = document.createElement("a");
      link.href = scan.orderUrl;
      link.textContent = scan.reference;
      item.appendChild(link);
      item.appendChild(document.createTextNode(" " + scan.customer));
    } else {
      var code = document.createElement("span");
      code.className = "code";
      code.textContent = scan.code || "(nothing)";
      item.appendChild(code);
    }
    item.appendChild(document.createTextNode(" — " + scan.message));
    log.insertBefore(item, log.firstChild);
    while (log.children.length > MAX_LOG) log.removeChild(log.lastChild);
  }

  function failed(code, text) {
    show({ ok: false, outcome: "error", reference: "", customer: "", stage: "", code: code,
           message: text, time: new Date().toTimeString().slice(0, 8) });
  }

  // --- posting codes, one at a time, in the order scanned -----------------------------------------
  var queue = [];
  var busy = false;
  function next() {
    if (busy || !queue.length) return;
    busy = true;
    var code = queue.shift();
    var body = new URLSearchParams();
    body.set("code", code);
    fetch(root.getAttribute("data-json-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf, Accept: "application/json" },
      body: body
    })
      .then(function (response) {
        if (response.status === 403) throw new Error("forbidden");
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(show)
      .catch(function (error) {
        failed(code, error.message === "forbidden"
          ? "Not saved: your session ended. Reload the page and log in again."
          : "Not saved: the server did not answer. Scan the ticket again.");
      })
      .then(function () {
        busy = false;
        next();
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    unlockAudio();
    var code = input.value.trim();
    input.value = "";
    refocus();
    if (!code) return;
    queue.push(code);
    next();
  });
})();
