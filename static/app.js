// Shows the "cookies are blocked" notice on every page.
//
// navigator.cookieEnabled is not enough: Chromium reports true while the
// user's settings block every cookie (writes to document.cookie are then
// dropped silently). So write a probe cookie, read it back, and remove it.
// (Firefox, set to block all cookies, reports false: no probe is needed.)
(function () {
  "use strict";
  var notice = document.getElementById("cookie-notice");
  if (!notice) return;
  var probe = "cookie_lab_probe=1";
  var works = false;
  if (navigator.cookieEnabled) {
    document.cookie = probe + "; Path=/; SameSite=Lax; Max-Age=10";
    works = document.cookie.split("; ").indexOf(probe) !== -1;
    document.cookie = "cookie_lab_probe=; Path=/; SameSite=Lax; Max-Age=0";
  }
  notice.hidden = works;
  document.documentElement.dataset.cookies = works ? "enabled" : "blocked";
})();
