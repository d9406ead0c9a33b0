// The cross-site lab's driver on site A. It makes the requests to site B in
// a fixed order and moves on: the step named in the page (the requests
// embedded in this page, then the link; the form; the redirect chain),
// and the popup on a click. B records what each request carried; the
// matrix on this page is the server's report of those records.
(function () {
  "use strict";
  var brave = document.getElementById("lab-brave");
  if (brave) brave.value = navigator.brave ? "1" : "0";

  // ?run=1: start as soon as the page loads.
  var start = document.getElementById("lab-start");
  if (start && start.querySelector("[data-autostart]")) {
    start.submit();
    return;
  }

  var lab = document.getElementById("lab");
  if (!lab) return;
  var d = lab.dataset;
  // Each embedded request gets this long before the run moves on without
  // it (its cell then stays empty): generous, a request takes milliseconds.
  var WAIT_MS = 10000;

  function within(promise) {
    return Promise.race([promise, new Promise(function (resolve) { setTimeout(resolve, WAIT_MS); })]);
  }

  function iframe() {
    return new Promise(function (resolve) {
      window.addEventListener("message", function onMessage(event) {
        if (event.origin === d.b && event.data && event.data.lab === "frame-done") {
          window.removeEventListener("message", onMessage);
          resolve();
        }
      });
      var frame = document.createElement("iframe");
      frame.title = "Site B, embedded";
      frame.src = d.frame;
      document.getElementById("lab-frames").appendChild(frame);
    });
  }

  function image() {
    return new Promise(function (resolve) {
      var img = new Image();
      img.onload = img.onerror = function () { resolve(); };
      img.src = d.image;
    });
  }

  function fetchB(url) {
    return fetch(url, { credentials: "include", mode: "cors", cache: "no-store" })
      .then(function () {}, function () {});
  }

  function waitForPopup(tries) {
    // Half a second apart, for a minute at most.
    if (tries > 120) return;
    fetch(d.api, { cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(function (report) {
        if (report.popup_seen) window.location.replace(d.doneUrl);
        else setTimeout(function () { waitForPopup(tries + 1); }, 500);
      }, function () { setTimeout(function () { waitForPopup(tries + 1); }, 500); });
  }

  function popup() {
    var button = document.getElementById("lab-popup");
    if (!button) return;
    button.addEventListener("click", function () {
      // noopener: the popup needs nothing from this page, and without an
      // opener Firefox's popup heuristic has nothing to grant.
      window.open(d.popup, "_blank", "noopener");
      button.disabled = true;
      button.textContent = "waiting for B…";
      waitForPopup(0);
    });
  }

  var steps = {
    embedded: function () {
      within(iframe())
        .then(function () { return within(image()); })
        .then(function () { return within(fetchB(d.cors)); })
        .then(function () { return within(fetchB(d.readback)); })
        .then(function () { document.getElementById("lab-link").click(); });
    },
    post: function () { document.getElementById("lab-post").submit(); },
    redirect: function () { window.location.assign(d.redirect); },
    popup: popup,
    done: popup
  };
  var step = steps[d.step];
  if (step) step();
})();
