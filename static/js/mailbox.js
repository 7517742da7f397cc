// The mailbox's small behaviours on top of htmx: the current row, selection, thread expansion,
// read state after opening, and keyboard shortcuts. No inline scripts, no eval.
(function () {
  "use strict";

  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));

  function actionsUrl() {
    const form = $("#selection");
    return form ? form.getAttribute("hx-post") : null;
  }

  function scopeKey() {
    const list = $("#list .list");
    return list ? list.dataset.scope : "";
  }

  // The current row is remembered by id: an action replaces the row element (out of band).
  let currentId = null;

  function currentRow() {
    const row = currentId && document.getElementById(currentId);
    return row && row.closest("#rows") ? row : null;
  }

  function showCurrent() {
    $$("#rows li.row.current").forEach((r) => { if (r.id !== currentId) r.classList.remove("current"); });
    const row = currentRow();
    if (row) row.classList.add("current");
  }

  function setCurrent(row) {
    currentId = row ? row.id : null;
    showCurrent();
    if (row) row.scrollIntoView({ block: "nearest" });
  }

  function markTreeActive() {
    const key = scopeKey();
    $$("#folder-tree a.entry").forEach((a) => a.classList.toggle("active", a.dataset.scope === key));
  }

  function selectedIds() {
    return $$("#rows input[name=ids]:checked").map((box) => box.value);
  }

  function openedId() {
    const article = $("#reading article.message");
    return article ? article.dataset.messageId : "";
  }

  // An action on the selection, else on the current row, else on the open message.
  function act(action) {
    const url = actionsUrl();
    let ids = selectedIds();
    if (!ids.length && currentRow()) ids = [currentRow().dataset.id];
    if (!ids.length && openedId()) ids = [openedId()];
    if (!url || !ids.length) return;
    htmx.ajax("POST", url, {
      source: document.body,
      swap: "none",
      values: { ids: ids.join(","), action: action, scope: scopeKey(), reading: openedId() },
    });
  }

  function move(step) {
    const rows = $$("#rows li.row").filter((row) => !row.closest("[hidden]"));
    if (!rows.length) return;
    const index = rows.indexOf(currentRow());
    const next = rows[Math.min(Math.max(index + step, 0), rows.length - 1)];
    setCurrent(index < 0 ? rows[0] : next);
  }

  function openCurrent() {
    const row = currentRow();
    const link = row && $("a.open", row);
    if (link) link.click();
  }

  function toggleFlag() {
    const row = currentRow();
    if (row && !selectedIds().length) {
      act(row.classList.contains("flagged") ? "unflag" : "flag");
    } else if (!row && openedId()) {
      const toggle = $("#reading-actions .flag-toggle");
      if (toggle) toggle.click();
    } else {
      act("flag");
    }
  }

  const keys = {
    j: () => move(1),
    k: () => move(-1),
    o: openCurrent,
    Enter: openCurrent,
    x: () => {
      const box = currentRow() && $("input[name=ids]", currentRow());
      if (box) box.checked = !box.checked;
    },
    s: toggleFlag,
    I: () => act("read"),
    U: () => act("unread"),
    "!": () => act("spam"),
    "#": () => act("delete"),
    Delete: () => act("delete"),
    "/": () => {
      const box = $("#search-box");
      if (box) box.focus();
    },
    "?": () => {
      const help = $("#shortcuts");
      if (help && !help.open) help.showModal();
    },
  };

  document.addEventListener("keydown", (event) => {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable], dialog")) return;
    const handler = keys[event.key];
    if (!handler || !$("#list")) return;
    event.preventDefault();
    handler();
  });

  document.addEventListener("click", (event) => {
    const target = event.target;
    if (target.id === "select-all") {
      $$("#rows input[name=ids]").forEach((box) => { box.checked = target.checked; });
    }
    if (target.matches("[data-close-dialog]")) {
      $("#dialog").innerHTML = "";
    }
    const row = target.closest && target.closest("#rows > li.row");
    if (row) setCurrent(row);
  });

  // Expanding a conversation loads it once; the button then only folds and unfolds it.
  document.addEventListener("htmx:beforeRequest", (event) => {
    const button = event.detail.elt;
    if (!button.classList || !button.classList.contains("thread-count")) return;
    const children = document.getElementById(button.getAttribute("aria-controls"));
    if (children && children.children.length) {
      event.preventDefault();
      const open = button.getAttribute("aria-expanded") === "true";
      children.hidden = open;
      button.setAttribute("aria-expanded", open ? "false" : "true");
    }
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    const target = event.detail.target;
    if (!target) return;
    if (target.classList && target.classList.contains("thread-children")) {
      target.hidden = false;
      const button = document.querySelector(`[aria-controls="${target.id}"]`);
      if (button) button.setAttribute("aria-expanded", "true");
    }
    if (target.id === "list") markTreeActive();
    if (target.id === "reading") {
      const article = $("article.message", target);
      if (!article) return;
      const row = document.getElementById(`m-${article.dataset.messageId}`);
      if (row) setCurrent(row);
      // Opening marked it read on the server: show that at once, and refresh the counts.
      if (article.dataset.seen && row && row.classList.contains("unread")) {
        row.classList.remove("unread");
        htmx.trigger(document.body, "countsStale");
      }
    }
  });

  document.addEventListener("htmx:afterSettle", showCurrent);

  // After an action in threaded view the rows cannot be patched one by one: reload the list.
  document.body.addEventListener("listStale", () => {
    const list = $("#list .list");
    if (list) htmx.ajax("GET", list.dataset.listUrl, { target: "#list", source: list });
  });
})();
