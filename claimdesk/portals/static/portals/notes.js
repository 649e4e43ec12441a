// The note dialog (發送紙條): open it, highlight personal data live, total the files.
// Everything here is an enhancement; the forms work without JavaScript.
(function () {
  "use strict";
  if (window.claimdeskNotes) { window.claimdeskNotes.init(document); return; }

  function openDialogs(root) {
    root.querySelectorAll("dialog[data-note-dialog]").forEach(function (dialog) {
      if (dialog.dataset.opened) return;
      dialog.dataset.opened = "1";
      document.querySelectorAll("dialog[data-note-dialog]").forEach(function (other) {
        if (other !== dialog) other.remove();
      });
      dialog.addEventListener("close", function () { dialog.remove(); });
      if (!dialog.open) dialog.showModal();
      var first = dialog.querySelector("input:not([type=hidden]),select,textarea,button");
      if (first) first.focus();
    });
  }

  function patternsOf(form) {
    if (form._piiPatterns) return form._piiPatterns;
    var list = [];
    try {
      var raw = JSON.parse(form.dataset.pii || "{}");
      Object.keys(raw).forEach(function (kind) { list.push([kind, new RegExp(raw[kind], "gu")]); });
    } catch (e) { list = []; }
    form._piiPatterns = list;
    return list;
  }

  // Same rule as messaging.policies.personal_data_spans: earlier kinds win on overlap.
  function spans(text, patterns) {
    var found = [];
    patterns.forEach(function (pair) {
      var re = pair[1];
      re.lastIndex = 0;
      var m;
      while ((m = re.exec(text)) !== null) {
        if (m[0].length === 0) { re.lastIndex++; continue; }
        var s = m.index, e = m.index + m[0].length;
        if (!found.some(function (f) { return s < f.end && f.start < e; })) found.push({ start: s, end: e, kind: pair[0] });
      }
    });
    return found.sort(function (a, b) { return a.start - b.start; });
  }

  function highlight(form) {
    var preview = form.querySelector("[data-pii-preview]");
    if (!preview) return;
    var text = Array.from(form.querySelectorAll("[data-pii-source]")).map(function (el) { return el.value; }).join("\n");
    var found = spans(text, patternsOf(form));
    preview.textContent = "";
    form.querySelectorAll("[data-pii-source]").forEach(function (el) { el.classList.toggle("pii-found", found.length > 0); });
    if (!found.length) return;
    var label = document.createElement("p");
    label.className = "hint warn";
    label.textContent = preview.dataset.label || "";
    var out = document.createElement("p");
    out.className = "pii-text";
    var at = 0;
    found.forEach(function (f) {
      if (f.start > at) out.appendChild(document.createTextNode(text.slice(at, f.start)));
      var mark = document.createElement("mark");
      mark.dataset.kind = f.kind;
      mark.textContent = text.slice(f.start, f.end);
      out.appendChild(mark);
      at = f.end;
    });
    if (at < text.length) out.appendChild(document.createTextNode(text.slice(at)));
    preview.appendChild(label);
    preview.appendChild(out);
  }

  function sizeTotal(input) {
    var form = input.form;
    var out = form && form.querySelector("[data-size-total]");
    var max = parseInt(input.dataset.maxBytes, 10);
    var total = Array.from(input.files || []).reduce(function (sum, f) { return sum + f.size; }, 0);
    var size = Math.round(total / 104857.6) / 10;
    if (out) {
      out.textContent = "(" + size + "MB / " + input.dataset.maxMb + "MB)";
      out.classList.toggle("over", total > max);
    }
    var list = form && form.querySelector("[data-file-list]");
    if (list) {
      list.textContent = "";
      Array.from(input.files || []).forEach(function (f) {
        var item = document.createElement("li");
        item.textContent = f.name + " (" + (Math.round(f.size / 104857.6) / 10) + "MB)";
        list.appendChild(item);
      });
    }
    var error = form && form.querySelector("[data-size-error]");
    var message = error ? error.dataset.template.replace("{size}", size) : "too large";
    if (error) { error.textContent = message; error.hidden = total <= max; }
    input.setCustomValidity(total > max ? message : "");
  }

  function init(root) {
    openDialogs(root);
    root.querySelectorAll("form[data-pii]").forEach(function (form) { highlight(form); });
  }

  document.addEventListener("input", function (event) {
    var el = event.target;
    if (el.matches && el.matches("[data-pii-source]") && el.form && el.form.dataset.pii !== undefined) highlight(el.form);
  });
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.matches && el.matches("input[type=file][data-max-bytes]")) sizeTotal(el);
  });
  document.addEventListener("htmx:afterSettle", function (event) { init(event.target.ownerDocument ? event.target : document); });

  window.claimdeskNotes = { init: init, spans: spans };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { init(document); });
  else init(document);
})();
