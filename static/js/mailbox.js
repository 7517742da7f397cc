// The mailbox's small behaviours on top of htmx: the current row, selection, thread expansion,
// read state after opening, keyboard shortcuts, the endless list, live updates, one pane at a time
// on phones, and toasts. No inline scripts, no eval.
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
    if (!url || !ids.length) {
      if (url) showToast(($("#toast") || document.body).dataset.nothingSelected || "");
      return;
    }
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
    c: () => {
      const mailbox = $("#mailbox");
      if (mailbox && mailbox.dataset.composeUrl) window.location.assign(mailbox.dataset.composeUrl);
    },
    r: () => { const link = $("#reading #reply"); if (link) link.click(); },
    a: () => { const link = $("#reading #reply-all"); if (link) link.click(); },
    f: () => { const link = $("#reading #forward"); if (link) link.click(); },
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
    const paneSwitch = target.closest && target.closest("[data-show-pane]");
    if (paneSwitch && $("#mailbox")) {
      event.preventDefault();
      showPane(paneSwitch.dataset.showPane);
    }
    if (target.closest && target.closest("[data-close-toast]")) $("#toast").innerHTML = "";
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
    if (target.id === "list") {
      markTreeActive();
      target.scrollTop = 0; // a folder opened after scrolling another starts at the top
      showPane("list");
    }
    if (target.id === "reading") {
      showPane("reading");
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

  // A row can reach the list twice (live merge, then the older page): keep the first.
  function dropDuplicateRows() {
    const seen = new Set();
    $$("#rows > li.row[id]").forEach((li) => {
      if (seen.has(li.id)) li.remove(); else seen.add(li.id);
    });
  }

  document.addEventListener("htmx:afterSettle", () => {
    dropDuplicateRows();
    showCurrent();
    watchOlder();
  });

  // After any action the selection is spent: clear the select-all box with the rows.
  document.addEventListener("htmx:afterRequest", (event) => {
    const elt = event.detail.elt;
    const path = event.detail.requestConfig && event.detail.requestConfig.path;
    const xhr = event.detail.xhr;
    if (xhr && xhr.getResponseHeader("X-Nothing-Done")) return; // nothing happened: keep the selection
    if (path === actionsUrl() || (elt && elt.closest && elt.closest("#selection"))) {
      const all = $("#select-all");
      if (all) all.checked = false;
      if (event.detail.successful) $$("#rows input[name=ids]:checked").forEach((box) => { box.checked = false; });
    }
  });

  // ---- One pane at a time on a phone (two on a tablet): the CSS reads #mailbox[data-pane].
  function showPane(name) {
    const mailbox = $("#mailbox");
    if (mailbox) mailbox.dataset.pane = name;
  }

  // ---- The endless list: older rows load as the bottom of the pane comes near. The observer's
  // root is the scrolling pane itself ("revealed" only watches the window, which never scrolls).
  let olderObserver = null;

  function loadOlder(item) {
    if (item.dataset.loading) return;
    item.dataset.loading = "1";
    htmx.ajax("GET", item.dataset.nextUrl, { target: item, swap: "outerHTML", source: item });
  }

  function watchOlder() {
    const pane = $("#list");
    const item = $("#rows > li.more");
    if (!pane || !item || item.dataset.watched) return;
    if (!("IntersectionObserver" in window)) return; // the plain link still works
    if (!olderObserver || olderObserver.root !== pane) {
      if (olderObserver) olderObserver.disconnect();
      olderObserver = new IntersectionObserver((entries) => {
        entries.forEach((entry) => { if (entry.isIntersecting) loadOlder(entry.target); });
      }, { root: pane, rootMargin: "0px 0px 600px 0px" });
    }
    item.dataset.watched = "1";
    olderObserver.observe(item);
  }

  // ---- Live list: a cheap conditional poll (204 while nothing changed), merged row by row.
  let polling = false;

  function pollChanges(force) {
    const list = $("#list .list");
    if (!list || !list.dataset.changesUrl || polling) return;
    if (document.hidden && !force) return;
    polling = true;
    const token = force ? "" : list.dataset.changesToken || "";
    fetch(`${list.dataset.changesUrl}&token=${encodeURIComponent(token)}`, {
      headers: { "HX-Request": "true" }, credentials: "same-origin",
    }).then((response) => {
      if (response.status !== 200) return null;
      list.dataset.changesToken = response.headers.get("X-Changes-Token") || "";
      const complete = response.headers.get("X-Changes-Complete") === "1";
      return response.text().then((html) => {
        if ($("#list .list") !== list) return; // another folder was opened meanwhile
        mergeRows(html, complete);
        if (!force) htmx.trigger(document.body, "countsStale");
      });
    }).catch(() => {}).finally(() => { polling = false; });
  }

  function mergeRows(html, complete) {
    const rows = $("#rows");
    if (!rows) return;
    const template = document.createElement("template");
    template.innerHTML = html;
    const fresh = Array.from(template.content.children).filter((li) => li.matches("li.row[id]"));
    const freshIds = new Set(fresh.map((li) => li.id));
    // Rows older than every row shown are the next page's business while "older" is still to load.
    let lastShown = -1;
    fresh.forEach((li, index) => { if (document.getElementById(li.id)) lastShown = index; });
    const more = $("#rows > li.more");
    let anchor = null;
    fresh.forEach((li, index) => {
      if (more && index > lastShown) return;
      const existing = document.getElementById(li.id);
      if (existing && existing.parentElement === rows) {
        const expanded = existing.querySelector(".thread-children:not(:empty)");
        if (!expanded && existing.outerHTML !== li.outerHTML) {
          const box = existing.querySelector("input[name=ids]");
          if (box && box.checked) li.querySelector("input[name=ids]").checked = true;
          existing.replaceWith(li);
          htmx.process(li);
          anchor = li;
        } else {
          anchor = existing;
        }
        return;
      }
      if (existing) return;
      const empty = $("#rows > li.empty-state");
      if (empty) empty.remove();
      li.classList.add("arrived");
      if (anchor) anchor.after(li); else rows.prepend(li);
      htmx.process(li);
      anchor = li;
    });
    // Rows that left the list elsewhere (moved or deleted by another client).
    $$("#rows > li.row[id]").forEach((li) => {
      if (freshIds.has(li.id)) return;
      const within = complete || (anchor && (li.compareDocumentPosition(anchor) & Node.DOCUMENT_POSITION_FOLLOWING));
      if (within) li.remove();
    });
    showCurrent();
  }

  function startPolling() {
    const list = $("#list .list");
    const ms = list ? parseInt(list.dataset.pollMs, 10) : 0;
    if (ms > 0) window.setInterval(() => pollChanges(false), ms);
  }

  document.body.addEventListener("listRefresh", () => pollChanges(true));

  // ---- Toasts: what an action did, or why it did nothing; they go away by themselves.
  let toastTimer = null;

  function showToast(text) {
    const toast = $("#toast");
    if (!toast || !text) return;
    const box = document.createElement("div");
    box.className = "toast";
    const span = document.createElement("span");
    span.className = "toast-text";
    span.textContent = text;
    box.appendChild(span);
    toast.replaceChildren(box);
  }

  const toastArea = $("#toast");
  if (toastArea) {
    new MutationObserver(() => {
      window.clearTimeout(toastTimer);
      if (toastArea.children.length) toastTimer = window.setTimeout(() => { toastArea.innerHTML = ""; }, 8000);
    }).observe(toastArea, { childList: true });
  }

  // After Invia the page opens with its toast and Annulla: gone once the undo window is over.
  const sentToast = $("#toast .sent-toast");
  if (sentToast) {
    const seconds = parseInt(sentToast.dataset.seconds || "10", 10);
    window.setTimeout(() => { if (sentToast.isConnected) sentToast.remove(); }, (seconds + 1) * 1000);
  }

  watchOlder();
  startPolling();

  // After an action in threaded view the rows cannot be patched one by one: reload the list.
  document.body.addEventListener("listStale", () => {
    const list = $("#list .list");
    if (list) htmx.ajax("GET", list.dataset.listUrl, { target: "#list", source: list });
  });
})();
