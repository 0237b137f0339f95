// The region pages: copy self-ratings into empty final ratings, mark rows, warn before leaving
// with unsaved changes (the department's final ratings and reasons; a region's self-ratings,
// notes and evidence), confirm a change of the current version. What a form sends is kept in
// this tab's sessionStorage until the page shows it saved, so that a session that ended under the
// form loses nothing: after signing in again the page offers it back. Without script the page works.
document.addEventListener("DOMContentLoaded", function () {
  var dirty = false;
  var PREFIX = "考评草稿|";
  function mark(select) {
    var row = select.closest("tr");
    var self = select.getAttribute("data-self");
    row.classList.toggle("differs", !!select.value && !!self && select.value !== self);
    row.classList.toggle("below", select.value === "未达标");
  }
  var ratings = document.getElementById("ratings-form");
  if (ratings) {
    var selects = ratings.querySelectorAll("select[name^='final:']");
    Array.prototype.forEach.call(selects, function (select) {
      select.addEventListener("change", function () { mark(select); });
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
  }

  // --- unsaved changes and the kept draft, for every form that names its draft ------------------
  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.name && el.name !== "csrf_token" && !el.disabled && el.type !== "submit" && el.type !== "button";
    });
  }
  function same(a, b) {  // as the server keeps a text: spaces run together, none at the ends
    return String(a).replace(/\s+/g, " ").trim() === String(b).replace(/\s+/g, " ").trim();
  }
  function snapshot(form) {
    var values = {}, files = [];
    fields(form).forEach(function (el) {
      if (el.type === "file") { if (el.files && el.files.length) { files.push(el.getAttribute("aria-label") || el.name); } }
      else if (el.type === "checkbox") { values[el.name] = el.checked; }
      else { values[el.name] = el.value; }
    });
    return {values: values, files: files};
  }
  function differs(form, kept) {  // what of the kept draft this page does not show (its fields only)
    var found = [];
    fields(form).forEach(function (el) {
      if (el.type === "file" || el.type === "hidden" || !(el.name in kept.values)) { return; }
      var now = el.type === "checkbox" ? el.checked : el.value;
      if (el.type === "checkbox" ? now !== kept.values[el.name] : !same(now, kept.values[el.name])) { found.push(el); }
    });
    return found;
  }
  Array.prototype.forEach.call(document.querySelectorAll("form[data-draft]"), function (form) {
    var key = PREFIX + form.getAttribute("data-draft");
    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("change", function () { dirty = true; });
    form.addEventListener("submit", function (event) {
      var most = Number(form.getAttribute("data-max-save") || 0);  // megabytes in one save
      var bytes = 0;
      fields(form).forEach(function (el) {
        Array.prototype.forEach.call(el.type === "file" && el.files ? el.files : [], function (f) { bytes += f.size; });
      });
      if (most && bytes > most * 1048576) {  // refused before it is sent: nothing leaves the page
        event.preventDefault();
        var said = document.getElementById("too-much");
        if (!said) {
          said = document.createElement("p");
          said.id = "too-much";
          said.className = "problem";
          form.appendChild(said);
        }
        said.textContent = "未保存：所选的佐证材料合计 " + Math.ceil(bytes / 1048576) + " 兆字节，超过每次保存合计 "
          + most + " 兆字节的上限。请少选几个文件，分几次保存；已填写的内容仍在本页。";
        said.scrollIntoView({block: "center"});
        return;
      }
      dirty = false;
      try { window.sessionStorage.setItem(key, JSON.stringify(snapshot(form))); } catch (e) { /* kept nowhere */ }
    });
    var kept = null;
    try { kept = JSON.parse(window.sessionStorage.getItem(key) || "null"); } catch (e) { kept = null; }
    if (!kept || !kept.values) { return; }
    var changed = differs(form, kept);
    if (!changed.length) {  // the page shows it (saved), or there is nothing left to fill in
      window.sessionStorage.removeItem(key);
      return;
    }
    var offer = document.createElement("div");
    offer.className = "warning draft-offer";
    offer.id = "draft-offer";
    var text = document.createElement("p");
    text.textContent = "本页有 " + changed.length + " 处填写在上次提交时未能保存（例如登录已超时），已在本浏览器中暂时保留。"
      + "恢复后请核对，再点保存。";
    var restore = document.createElement("button");
    restore.type = "button";
    restore.id = "draft-restore";
    restore.textContent = "恢复未保存的填写";
    var drop = document.createElement("button");
    drop.type = "button";
    drop.id = "draft-discard";
    drop.textContent = "放弃";
    offer.appendChild(text);
    offer.appendChild(restore);
    offer.appendChild(document.createTextNode(" "));
    offer.appendChild(drop);
    form.parentNode.insertBefore(offer, form);
    restore.addEventListener("click", function () {
      changed.forEach(function (el) {
        if (el.type === "checkbox") { el.checked = kept.values[el.name]; } else { el.value = kept.values[el.name]; }
        if (el.tagName === "SELECT" && el.name.indexOf("final:") === 0) { mark(el); }
      });
      var based = form.querySelector("input[name='based_on']");
      if (based && kept.values.based_on !== undefined) { based.value = kept.values.based_on; }  // a newer version is a conflict, said on saving
      dirty = true;
      text.textContent = "已恢复 " + changed.length + " 处填写，尚未保存，请核对后保存。"
        + (kept.files && kept.files.length ? "当时选择的佐证材料文件不能保留，请重新选择：" + kept.files.join("、") + "。" : "");
      offer.id = "draft-restored";
      restore.remove();
      drop.remove();
      window.sessionStorage.removeItem(key);
    });
    drop.addEventListener("click", function () {
      window.sessionStorage.removeItem(key);
      offer.remove();
    });
  });

  window.addEventListener("beforeunload", function (event) {
    if (dirty) { event.preventDefault(); event.returnValue = ""; }
  });
  Array.prototype.forEach.call(document.querySelectorAll("form.confirm"), function (f) {
    f.addEventListener("submit", function (event) {
      if (!window.confirm(f.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
});
