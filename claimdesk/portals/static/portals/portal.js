// Small progressive enhancements; every form also works without JavaScript.
(function () {
  "use strict";

  function counters(root) {
    root.querySelectorAll("textarea[data-counter]").forEach(function (area) {
      if (area.dataset.counted) return;
      area.dataset.counted = "1";
      var max = parseInt(area.dataset.counter, 10);
      var out = document.createElement("span");
      out.className = "counter";
      out.setAttribute("aria-live", "polite");
      area.insertAdjacentElement("afterend", out);
      function update() {
        var n = Array.from(area.value).length;
        out.textContent = "(" + n + "/" + max + ")";
        out.classList.toggle("over", n > max);
      }
      area.addEventListener("input", update);
      update();
    });
  }

  function selectAll(root) {
    root.querySelectorAll("input[data-select-all]").forEach(function (box) {
      box.addEventListener("change", function () {
        var table = box.closest("table");
        table.querySelectorAll("tbody input[type=checkbox]").forEach(function (b) { b.checked = box.checked; });
      });
    });
  }

  // A select with data-autosubmit sends its form when changed (the language).
  document.addEventListener("change", function (event) {
    var select = event.target;
    if (select.matches && select.matches("select[data-autosubmit]") && select.form) {
      select.form.requestSubmit ? select.form.requestSubmit() : select.form.submit();
    }
  });

  // Enter on a table row opens it: htmx loads it on "claimdesk:open" (no inline
  // trigger filter: the Content-Security-Policy allows no eval).
  document.addEventListener("keyup", function (event) {
    var row = event.target.closest && event.target.closest("tr[hx-get]");
    if (row && event.key === "Enter" && event.target === row) {
      row.dispatchEvent(new CustomEvent("claimdesk:open", { bubbles: true }));
    }
  });

  // Arrow keys move between table rows; Enter opens the row (handled by htmx).
  document.addEventListener("keydown", function (event) {
    var row = event.target.closest && event.target.closest("table.keyboard tbody tr");
    if (!row || (event.key !== "ArrowDown" && event.key !== "ArrowUp")) return;
    var next = event.key === "ArrowDown" ? row.nextElementSibling : row.previousElementSibling;
    if (next) { next.focus(); event.preventDefault(); }
  });

  // A double click opens a row: keep the browser from selecting the word under it.
  document.addEventListener("mousedown", function (event) {
    if (event.detail < 2) return;
    var row = event.target.closest && event.target.closest("table.keyboard tbody tr");
    if (row && !event.target.closest("input,textarea,select")) event.preventDefault();
  });

  // Dialogs: <dialog> opened with showModal() keeps focus inside until closed.
  document.addEventListener("click", function (event) {
    var opener = event.target.closest && event.target.closest("[data-open]");
    if (opener) {
      var dialog = document.getElementById(opener.dataset.open);
      if (dialog) { dialog.showModal(); var first = dialog.querySelector("input,button,select,textarea"); if (first) first.focus(); }
    }
    var closer = event.target.closest && event.target.closest("[data-close]");
    if (closer) { closer.closest("dialog").close(); }
  });

  // A form with data-question asks it first (OK sends, Cancel does not); a second
  // click on a submit button while the first request runs does nothing.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.question && !form.dataset.submitting && !window.confirm(form.dataset.question)) {
      event.preventDefault();
      return;
    }
    if (form.dataset.submitting) { event.preventDefault(); return; }
    form.dataset.submitting = "1";
    setTimeout(function () { delete form.dataset.submitting; }, 3000);
  }, true);

  function init(root) { counters(root); selectAll(root); }
  document.addEventListener("DOMContentLoaded", function () { init(document); });
  document.addEventListener("htmx:afterSwap", function (event) {
    init(event.target);
    var panel = event.target.id === "detail" ? event.target : null;
    if (panel) panel.focus();
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.target.closest && event.target.closest("form");
    if (form && form.dataset.inflight) { event.preventDefault(); return; }
    if (form) form.dataset.inflight = "1";
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target.closest && event.target.closest("form");
    if (form) delete form.dataset.inflight;
  });
})();
