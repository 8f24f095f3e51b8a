// Keyboard shortcuts for the review pages. No inline scripts: the CSP allows only files from /static.
(function () {
  "use strict";

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function rows() { return Array.prototype.slice.call(document.querySelectorAll(".draft-row")); }

  function selected() { return document.querySelector(".draft-row.selected"); }

  function select(row) {
    rows().forEach(function (r) { r.classList.remove("selected"); });
    if (row) {
      row.classList.add("selected");
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var i = all.indexOf(selected());
    var next = i < 0 ? 0 : Math.min(all.length - 1, Math.max(0, i + step));
    select(all[next]);
  }

  function go(href) { if (href) { window.location.assign(href); } }

  function submit(form) {
    if (!form) { return; }
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }

  function focus(id) {
    var el = document.getElementById(id);
    if (el) { el.focus(); if (el.select && el.tagName === "INPUT") { el.select(); } }
    return el;
  }

  function onQueue(key) {
    var row = selected();
    if (key === "j") { move(1); return true; }
    if (key === "k") { move(-1); return true; }
    if (!row) { return false; }
    if (key === "o" || key === "Enter") { go(row.dataset.href); return true; }
    if (key === "a") { submit(row.querySelector(".approve-form")); return true; }
    if (key === "e") { go(row.dataset.href + "#text"); return true; }
    if (key === "r") { go(row.dataset.href + "#reason"); return true; }
    if (key === "x") {
      var box = row.querySelector("input[type=checkbox]");
      if (box) { box.checked = !box.checked; }
      return true;
    }
    return false;
  }

  function onDraft(key) {
    var link;
    if (key === "j") { link = document.getElementById("next"); if (link) { go(link.href); } return true; }
    if (key === "k") { link = document.getElementById("prev"); if (link) { go(link.href); } return true; }
    if (key === "a") { submit(document.getElementById("approve-form")); return true; }
    if (key === "e") { return !!focus("text"); }
    if (key === "r") { return !!focus("reason"); }
    if (key === "s") { submit(document.getElementById("snooze-form")); return true; }
    return false;
  }

  // hx-boost swaps the body's content, not its attributes: the page kind lives on <main>.
  function pageKind() {
    var main = document.querySelector("main[data-page]");
    return main ? main.dataset.page : "";
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (typing(event.target)) {
      if (event.key === "Escape") { event.target.blur(); }
      return;
    }
    var page = pageKind();
    var handled = false;
    if (event.key === "g") { go("/"); handled = true; }
    else if (page === "queue") { handled = onQueue(event.key); }
    else if (page === "draft") { handled = onDraft(event.key); }
    if (handled) { event.preventDefault(); }
  });

  function init() {
    var page = pageKind();
    if (page === "queue" && !selected()) { select(rows()[0]); }
    if (page === "draft" && window.location.hash) {
      focus(window.location.hash.slice(1));
    }
    rows().forEach(function (row) {
      row.addEventListener("click", function () { select(row); });
    });
  }

  document.addEventListener("DOMContentLoaded", init);
  // hx-boost swaps the body without a page load.
  document.addEventListener("htmx:afterSettle", init);
})();
