// Unsaved entries kept in this tab while a session ends (see region.js), and nothing of a signed-in
// page kept by the browser: on the sign-in page, say that entries were kept (or forget them after
// a deliberate 退出); on a signed-in page, forget other accounts' entries; a page brought back
// from the back/forward cache is asked for again (after 退出 that shows the sign-in page).
(function () {
  var PREFIX = "考评草稿|";
  function keys() {
    var found = [];
    try {
      for (var i = 0; i < window.sessionStorage.length; i++) {
        var key = window.sessionStorage.key(i);
        if (key && key.indexOf(PREFIX) === 0) { found.push(key); }
      }
    } catch (e) { /* storage refused: nothing kept */ }
    return found;
  }
  function forget(key) { try { window.sessionStorage.removeItem(key); } catch (e) { /* nothing */ } }
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { window.location.reload(); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var account = document.body.getAttribute("data-account") || "";
    var notice = document.getElementById("login-notice");
    if (document.getElementById("sign-in")) {  // the sign-in page
      if (notice && notice.getAttribute("data-why") === "signed-out") {
        keys().forEach(forget);
      } else if (keys().length) {
        document.getElementById("drafts-kept").hidden = false;
      }
      return;
    }
    if (account) {
      keys().forEach(function (key) {
        if (key.slice(key.lastIndexOf("|") + 1) !== account) { forget(key); }
      });
    }
  });
})();
