// Sortable tables of the 统计 page: a click on a column's header sorts by it, a second click
// reverses; numbers sort as numbers, texts in Chinese order; a closing 全省 row stays put.
document.addEventListener("DOMContentLoaded", function () {
  var collator = new Intl.Collator("zh-CN", { numeric: true });
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var headers = table.querySelectorAll("thead th");
    Array.prototype.forEach.call(headers, function (th, index) {
      var control = th.querySelector(".sort");
      if (!control) { return; }
      // a span, not a <button>: Chromium leaves form controls out of a header repeated on each printed page
      control.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); control.click(); }
      });
      control.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(headers, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var numeric = th.classList.contains("num");
        rows.sort(function (a, b) {
          var x = a.cells[index] ? a.cells[index].getAttribute("data-sort") : "";
          var y = b.cells[index] ? b.cells[index].getAttribute("data-sort") : "";
          var result;
          if (numeric) {
            // a blank (“—”) goes last whichever the direction
            if (x === "" || y === "") { return (x === "") - (y === ""); }
            result = parseFloat(x) - parseFloat(y);
          } else {
            result = collator.compare(x, y);
          }
          return ascending ? result : -result;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
});
