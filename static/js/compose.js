// The compose page: Quill editor, address suggestions, uploads with progress, the From
// account's signature, autosave of the draft, and sending through fetch. No inline scripts.
(function () {
  "use strict";
  const $ = (selector, root) => (root || document).querySelector(selector);
  const $$ = (selector, root) => Array.from((root || document).querySelectorAll(selector));
  const form = $("#compose");
  if (!form) return;

  const AUTOSAVE_MS = 5000;
  const fallback = $("#id_body_html");
  let quill = null;
  let dirty = false;
  let sending = false;
  let saving = null;
  let uploadsRunning = 0;

  // ---- Editor
  if (window.Quill) {
    quill = new window.Quill("#editor", {
      theme: "snow",
      placeholder: form.dataset.placeholder || "",
      modules: {
        toolbar: [
          [{ header: [1, 2, 3, false] }],
          ["bold", "italic", "underline", "strike"],
          [{ color: [] }, { background: [] }],
          [{ list: "ordered" }, { list: "bullet" }],
          ["link", "blockquote", "image"],
          ["clean"],
        ],
      },
    });
    if (fallback.value.trim()) {
      quill.setContents(quill.clipboard.convert({ html: fallback.value }), "silent");
    }
    fallback.hidden = true;
    quill.on("text-change", () => { dirty = true; });
    form.classList.add("has-editor");
  }

  function syncBody() {
    if (quill) fallback.value = quill.getLength() > 1 ? quill.getSemanticHTML() : "";
  }

  form.addEventListener("input", () => { dirty = true; });

  // ---- Cc / Bcc
  const ccToggle = $("#cc-toggle");
  if (ccToggle) {
    ccToggle.addEventListener("click", () => {
      $$(".cc-row").forEach((row) => { row.hidden = false; });
      ccToggle.hidden = true;
      $("#id_cc").focus();
    });
  }

  // ---- Signature of the From account: the frame shows the one that will be added.
  const account = $("#id_account");
  const frame = $("#signature-frame");
  account.addEventListener("change", () => {
    const option = account.selectedOptions[0];
    if (frame && option) frame.src = option.dataset.signatureUrl;
    $("#signature-box").hidden = !(option && option.dataset.hasSignature);
    dirty = true;
  });

  // ---- Address suggestions
  const list = $("#suggestions");
  let activeField = null;
  let suggestTimer = null;
  let picked = -1;

  function lastToken(value) {
    const parts = value.split(/[,;]/);
    return parts[parts.length - 1].trim();
  }

  function closeSuggestions() {
    list.hidden = true;
    list.replaceChildren();
    picked = -1;
  }

  function choose(item) {
    const value = activeField.value;
    const cut = Math.max(value.lastIndexOf(","), value.lastIndexOf(";"));
    const head = cut >= 0 ? value.slice(0, cut + 1) + " " : "";
    const entry = item.name ? `${item.name} <${item.address}>` : item.address;
    activeField.value = `${head}${entry}, `;
    dirty = true;
    closeSuggestions();
    activeField.focus();
  }

  function showSuggestions(field, results) {
    list.replaceChildren();
    picked = -1;
    if (!results.length) { list.hidden = true; return; }
    results.forEach((item) => {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      const name = document.createElement("strong");
      name.textContent = item.name || item.address;
      li.appendChild(name);
      if (item.name) {
        const addr = document.createElement("span");
        addr.textContent = item.address;
        li.appendChild(addr);
      }
      li.addEventListener("mousedown", (event) => { event.preventDefault(); choose(item); });
      li.item = item;
      list.appendChild(li);
    });
    const box = field.getBoundingClientRect();
    const base = form.getBoundingClientRect();
    list.style.left = `${box.left - base.left}px`;
    list.style.top = `${box.bottom - base.top}px`;
    list.style.width = `${Math.max(box.width, 240)}px`;
    list.hidden = false;
  }

  $$("input[data-suggest]").forEach((field) => {
    field.addEventListener("input", () => {
      activeField = field;
      window.clearTimeout(suggestTimer);
      const query = lastToken(field.value);
      if (!query) { closeSuggestions(); return; }
      suggestTimer = window.setTimeout(() => {
        fetch(`${form.dataset.addressesUrl}?q=${encodeURIComponent(query)}`, { credentials: "same-origin" })
          .then((response) => response.json())
          .then((data) => { if (activeField === field) showSuggestions(field, data.results || []); })
          .catch(() => closeSuggestions());
      }, 150);
    });
    field.addEventListener("keydown", (event) => {
      if (list.hidden) return;
      const items = $$("li", list);
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        picked = (picked + (event.key === "ArrowDown" ? 1 : -1) + items.length) % items.length;
        items.forEach((li, i) => li.classList.toggle("active", i === picked));
      } else if ((event.key === "Enter" || event.key === "Tab") && picked >= 0) {
        event.preventDefault();
        choose(items[picked].item);
      } else if (event.key === "Escape") {
        closeSuggestions();
      }
    });
    field.addEventListener("blur", () => window.setTimeout(closeSuggestions, 150));
  });

  // ---- Attachments: uploaded at once, with progress; over the limit refused here and on the server.
  const uploadList = $("#upload-list");
  const uploadError = $("#upload-error");
  const fileInput = $("#file-input");
  const maxBytes = parseInt(form.dataset.maxBytes || "0", 10);

  function csrf() { return $("input[name=csrfmiddlewaretoken]", form).value; }

  function uploadedBytes() {
    return $$("li.upload", uploadList).reduce((sum, li) => sum + parseInt(li.dataset.size || "0", 10), 0);
  }

  function humanSize(bytes) {
    if (bytes < 1024) return `${bytes} B`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
    return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  }

  function showUploadError(text) {
    uploadError.textContent = text;
    uploadError.hidden = !text;
  }

  function removeButton(li) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "icon-button remove-upload";
    button.title = form.dataset.remove;
    button.setAttribute("aria-label", form.dataset.remove);
    button.textContent = "×";
    li.appendChild(button);
  }

  function upload(file) {
    if (file.size + uploadedBytes() > maxBytes) {
      showUploadError(form.dataset.tooLarge.replace("%(name)s", file.name));
      return;
    }
    const li = document.createElement("li");
    li.className = "upload";
    li.dataset.size = String(file.size);
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = file.name;
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = humanSize(file.size);
    const bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    li.append(name, " ", meta, bar);
    uploadList.appendChild(li);
    const data = new FormData();
    data.append("file", file);
    data.append("csrfmiddlewaretoken", csrf());
    $$("input[name=uploads]", uploadList).forEach((input) => data.append("uploads", input.value));
    const request = new XMLHttpRequest();
    request.open("POST", form.dataset.uploadUrl);
    request.setRequestHeader("X-CSRFToken", csrf());
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) bar.value = Math.round((event.loaded / event.total) * 100);
    });
    uploadsRunning += 1;
    request.addEventListener("loadend", () => {
      uploadsRunning -= 1;
      let answer = {};
      try { answer = JSON.parse(request.responseText || "{}"); } catch (error) { answer = {}; }
      if (request.status === 200 && answer.id) {
        const input = document.createElement("input");
        input.type = "hidden";
        input.name = "uploads";
        input.value = String(answer.id);
        li.appendChild(input);
        li.classList.add("done");
        bar.remove();
        removeButton(li);
        showUploadError("");
        dirty = true;
      } else {
        li.remove();
        showUploadError(answer.error || `${form.dataset.uploadFailed} ${request.status}`);
      }
    });
    request.send(data);
  }

  fileInput.addEventListener("change", () => {
    Array.from(fileInput.files).forEach(upload);
    fileInput.value = "";
  });
  uploadList.addEventListener("click", (event) => {
    const button = event.target.closest(".remove-upload");
    if (button) { button.closest("li").remove(); dirty = true; }
  });

  // ---- Draft: saved every few seconds while something changed, and when the page is left.
  const status = $("#draft-status");

  function draftData() {
    syncBody();
    return new FormData(form);
  }

  function saveDraft() {
    if (!dirty || sending || saving || uploadsRunning) return;
    dirty = false;
    status.textContent = form.dataset.saving;
    saving = fetch(form.dataset.draftUrl, {
      method: "POST", body: draftData(), credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "X-CSRFToken": csrf() },
    }).then((response) => response.json().then((answer) => {
      if (response.ok) {
        $("input[name=draft_account]", form).value = answer.draft_account;
        if (answer.draft_message_cleared) $("input[name=draft_message]", form).value = "";
        status.textContent = answer.status;
      } else {
        dirty = true;
        status.textContent = `${form.dataset.saveFailed} ${Object.values(answer.errors || {}).join(" ")}`;
      }
    })).catch(() => { dirty = true; }).finally(() => { saving = null; });
  }

  window.setInterval(saveDraft, AUTOSAVE_MS);
  function saveOnLeave() {
    if (!dirty || sending) return;
    dirty = false;
    navigator.sendBeacon(form.dataset.draftUrl, draftData());
  }
  window.addEventListener("pagehide", saveOnLeave);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") saveOnLeave(); });

  // ---- Send
  function showErrors(errors) {
    $$(".field-error", form).forEach((span) => { span.hidden = true; span.textContent = ""; });
    const general = $("#form-error");
    general.hidden = true;
    Object.entries(errors).forEach(([field, text]) => {
      const span = $(`.field-error[data-for="${field}"]`, form);
      if (span) {
        span.textContent = text;
        span.hidden = false;
        if (field === "cc" || field === "bcc") $$(".cc-row").forEach((row) => { row.hidden = false; });
      } else {
        general.textContent = text;
        general.hidden = false;
      }
    });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (uploadsRunning) return;
    syncBody();
    sending = true;
    const button = $("#send-button");
    button.disabled = true;
    const send = () => fetch(form.action, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "X-CSRFToken": csrf() },
    }).then((response) => response.json().catch(() => ({
      errors: { general: `${form.dataset.sendFailed} HTTP ${response.status}` },
    })).then((answer) => {
      if (answer.redirect) {
        window.location.assign(answer.redirect);
        return;
      }
      sending = false;
      button.disabled = false;
      showErrors(answer.errors || {});
    })).catch(() => {
      sending = false;
      button.disabled = false;
      showErrors({ general: form.dataset.sendFailed });
    });
    // A draft save under way finishes first, so it cannot land after the send removed the draft.
    (saving || Promise.resolve()).then(send);
  });

  document.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "Enter") {
      event.preventDefault();
      form.requestSubmit();
    }
  });
})();
