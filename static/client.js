// The tutorial's client-side cookies: set with document.cookie, no server.
(function () {
  "use strict";
  var form = document.getElementById("client-form");
  var assignment = document.getElementById("client-assignment");
  var current = document.getElementById("client-cookies");

  function show() {
    current.textContent = document.cookie || "(no cookies visible to scripts)";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var name = form.elements.name.value.trim();
    var value = form.elements.value.value;
    var maxAge = form.elements.max_age.value.trim();
    var path = form.elements.path.value.trim();
    // Encode like the server does, so any text survives the round trip.
    var text = encodeURIComponent(name) + "=" + encodeURIComponent(value);
    if (maxAge !== "") text += "; Max-Age=" + Number(maxAge);
    if (path !== "") text += "; Path=" + path;
    text += "; SameSite=Lax";
    document.cookie = text;
    assignment.textContent = "document.cookie = " + JSON.stringify(text);
    show();
  });
  show();
})();
