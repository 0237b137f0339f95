// Drag and drop onto the upload box: the dropped files become the form's files.
document.addEventListener("DOMContentLoaded", function () {
  var drop = document.getElementById("drop");
  var input = document.getElementById("workbooks");
  var chosen = document.getElementById("chosen");
  if (!drop || !input) { return; }
  function show() {
    var names = Array.prototype.map.call(input.files, function (f) { return f.name; });
    chosen.textContent = names.length ? "已选 " + names.length + " 个：" + names.join("、") : "";
  }
  ["dragenter", "dragover"].forEach(function (type) {
    drop.addEventListener(type, function (event) { event.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    drop.addEventListener(type, function () { drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (event) {
    event.preventDefault();
    input.files = event.dataTransfer.files;
    show();
  });
  input.addEventListener("change", show);
});
