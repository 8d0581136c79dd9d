// The one WebSocket client of the live pages (order-live.js, ops.js, ops-board.js,
// ops-order-live.js); each page keeps only its rendering. LiveSocket.open(options) connects to
// options.path (ws:// or wss:// like the page) and, after each close, in this order:
//   - options.tooManyCode (4429: too many live pages open), when the page sets it, is retried in
//     30-60 s (at once when the tab is shown again or comes back online);
//   - a code options.isFinal(code) accepts (the page's refusals: logged out, forbidden, gone)
//     stops for good;
//   - anything else (4503: the server lost its Redis, 1011: server error, 1006: network, or 4429
//     when the page does not set tooManyCode) is retried with exponential backoff and jitter:
//     about firstRetryMs (1 s unless set), doubling, up to 30 s.
// The backoff starts over only once a socket stayed open 10 s: a server that accepts and then
// closes at once (4503 while its Redis is down) must not be retried every second. Back online or
// back to the tab, a page waiting to reconnect does so at once. Leaving the page closes the socket;
// a page restored from the back/forward cache connects again.
// Callbacks (all optional):
//   onOpen(reconnected)   a socket opened; reconnected: an earlier socket of this page had closed
//   onMessage(frame)      each frame, parsed from JSON (a frame that is not JSON is ignored)
//   onStatus(state, text) state "live", "reconnecting", "waiting" (tooManyCode) or "stopped";
//                         text from options.texts[state] (a string, or a function of
//                         {code, attempt, reconnected}); null when the page has nothing to say
//   onClose(code)         a socket closed, before the above decides what follows
// LiveSocket.statusLine(element) is an onStatus that shows the text in the page's status line
// (class "live-status live" or "live-status offline") and hides the line when text is null.
(function () {
  "use strict";

  var STABLE_MS = 10000;
  var MAX_RETRY_MS = 30000;
  var TOO_MANY_RETRY_MS = 60000;

  function url(path) {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    return scheme + window.location.host + path;
  }

  // Half the delay, plus up to the other half: a restarted server is not hit by every page at once.
  function jitter(delay) {
    return delay / 2 + Math.random() * delay / 2;
  }

  function statusLine(element) {
    return function (state, text) {
      if (!element) return;
      if (text == null) {
        element.hidden = true;
        return;
      }
      element.hidden = false;
      element.textContent = text;
      element.className = "live-status " + (state === "live" ? "live" : "offline");
    };
  }

  function open(options) {
    if (!("WebSocket" in window)) return;
    var firstRetryMs = options.firstRetryMs || 1000;
    var isFinal = options.isFinal || function () { return false; };
    var texts = options.texts || {};
    var socket = null;
    var retryTimer = null;
    var stableTimer = null;
    var stopped = false;
    var attempt = 0; // closes since the last socket that stayed open STABLE_MS (tooManyCode aside)
    var sockets = 0;

    function status(state, code) {
      if (!options.onStatus) return;
      var text = texts[state];
      if (typeof text === "function") {
        text = text({ code: code, attempt: attempt, reconnected: sockets > 1 });
      }
      options.onStatus(state, text == null ? null : text);
    }

    function retryIn(delay) {
      if (stopped || retryTimer) return;
      retryTimer = window.setTimeout(function () {
        retryTimer = null;
        connect();
      }, delay);
    }

    function connect() {
      if (stopped) return;
      var ws;
      try {
        ws = new WebSocket(url(options.path));
      } catch (error) {
        stopped = true; // a URL or scheme this browser refuses: asking again would not help
        return;
      }
      sockets += 1;
      socket = ws;
      ws.onopen = function () {
        if (socket !== ws) return;
        stableTimer = window.setTimeout(function () { attempt = 0; }, STABLE_MS);
        status("live");
        if (options.onOpen) options.onOpen(sockets > 1);
      };
      ws.onmessage = function (message) {
        if (socket !== ws || !options.onMessage) return;
        var frame;
        try { frame = JSON.parse(message.data); } catch (error) { return; }
        options.onMessage(frame);
      };
      ws.onclose = function (event) {
        if (socket !== ws) return; // closed by pagehide, or replaced
        socket = null;
        window.clearTimeout(stableTimer);
        var code = event.code;
        if (options.onClose) options.onClose(code);
        if (stopped) return;
        if (options.tooManyCode && code === options.tooManyCode) {
          // Other tabs hold this account's live sockets: try again slowly (or when shown again).
          retryIn(jitter(TOO_MANY_RETRY_MS));
          status("waiting", code);
          return;
        }
        if (isFinal(code)) {
          stopped = true;
          status("stopped", code);
          return;
        }
        attempt += 1;
        retryIn(jitter(Math.min(MAX_RETRY_MS, firstRetryMs * Math.pow(2, attempt - 1))));
        status("reconnecting", code);
      };
    }

    // Back online or back to the tab: do not wait out the backoff.
    function reconnectNow() {
      if (stopped || socket) return;
      if (retryTimer) {
        window.clearTimeout(retryTimer);
        retryTimer = null;
      }
      connect();
    }
    window.addEventListener("online", reconnectNow);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") reconnectNow();
    });
    window.addEventListener("pagehide", function () {
      stopped = true;
      window.clearTimeout(retryTimer);
      retryTimer = null;
      window.clearTimeout(stableTimer);
      var ws = socket;
      socket = null;
      if (ws) ws.close(1000);
    });
    window.addEventListener("pageshow", function (event) {
      // Restored from the back/forward cache: the page may be stale and the socket is gone.
      if (!event.persisted) return;
      stopped = false;
      attempt = 0;
      reconnectNow();
    });

    connect();
  }

  window.LiveSocket = { open: open, url: url, statusLine: statusLine };
})();
