// The region page: copy self-ratings into empty final ratings, mark rows, warn before leaving
// with unsaved changes, confirm a change of the current version. Without script the page works.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("ratings-form");
  var dirty = false;
  function mark(select) {
    var row = select.closest("tr");
    var self = select.getAttribute("data-self");
    row.classList.toggle("differs", !!select.value && !!self && select.value !== self);
    row.classList.toggle("below", select.value === "未达标");
  }
  if (form) {
    var selects = form.querySelectorAll("select[name^='final:']");
    Array.prototype.forEach.call(selects, function (select) {
      select.addEventListener("change", function () { dirty = true; mark(select); });
    });
    var copy = document.getElementById("copy-self");
    if (copy) {
      copy.hidden = false;
      copy.addEventListener("click", function () {
        Array.prototype.forEach.call(selects, function (select) {
          var self = select.getAttribute("data-self");
          if (!select.value && self) { select.value = self; dirty = true; mark(select); }
        });
      });
    }
    form.addEventListener("submit", function () { dirty = false; });
  }
  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
  Array.prototype.forEach.call(document.querySelectorAll("form.confirm"), function (f) {
    f.addEventListener("submit", function (event) {
      if (!window.confirm(f.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
});
