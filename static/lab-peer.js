// The cross-site lab's small pages on site B (and the clearing pages):
// move on to the next step, tell the embedding page a step is done, or
// close the popup.
(function () {
  "use strict";
  var page = document.getElementById("lab-peer");
  if (!page) return;
  var d = page.dataset;

  function tellParent(message) {
    if (window.parent !== window) window.parent.postMessage({ lab: message }, d.parent);
  }

  if (d.mode === "forward") {
    // This page, on B, starts the navigation: B's own request.
    window.location.replace(d.next);
  } else if (d.mode === "popup") {
    window.close();
  } else if (d.mode === "frame") {
    fetch(d.next, { credentials: "same-origin", cache: "no-store" })
      .then(function () { tellParent("frame-done"); }, function () { tellParent("frame-done"); });
  } else if (d.mode === "clear-frame") {
    tellParent("clear-done");
  } else if (d.mode === "clear") {
    var moved = false;
    var onward = function () {
      if (moved) return;
      moved = true;
      var form = document.getElementById("lab-peer-form");
      if (form) form.submit();
      else if (d.next) window.location.replace(d.next);
    };
    // The frame is made here, after the listener, so its answer can't come
    // before anyone listens.
    var frame = document.createElement("iframe");
    window.addEventListener("message", function (event) {
      if (event.source === frame.contentWindow && event.data && event.data.lab === "clear-done") onward();
    });
    frame.title = "Clearing the lab's cookies of the other site";
    frame.src = d.frame;
    document.getElementById("lab-peer-frames").appendChild(frame);
    // Onward anyway if the other site never answers: a generous bound, a
    // frame takes milliseconds.
    setTimeout(onward, 10000);
  }
})();
