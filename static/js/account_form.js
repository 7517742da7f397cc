// Fill the server fields when the user picks a preset or a company server, and show the
// provider's notice. Those fields are then read-only (the save applies them anyway) and sit under
// "Avanzate"; only Custom opens them for typing. A one-line summary says which servers are used.
(function () {
  const form = document.getElementById("account-form");
  const dataNode = document.getElementById("preset-data");
  if (!form || !dataNode) return;
  const presets = JSON.parse(dataNode.textContent);
  const kind = form.elements["kind"];
  const notice = document.getElementById("preset-notice");
  const summary = document.getElementById("server-summary");
  const advanced = document.getElementById("advanced-servers");
  const smtpCustom = form.elements["smtp_custom"];
  const IMAP = ["imap_host", "imap_port", "imap_security"];
  const SMTP = ["smtp_host", "smtp_port", "smtp_security"];
  function lock(name, locked) {
    const field = form.elements[name];
    // A select has no readOnly: make it inert instead (disabled would drop it from the POST).
    if (field.tagName === "SELECT") {
      field.classList.toggle("locked", locked);
      field.setAttribute("aria-readonly", locked ? "true" : "false");
      field.tabIndex = locked ? -1 : 0;
    } else {
      field.readOnly = locked;
    }
  }
  function label(name) {
    const field = form.elements[name];
    return field.tagName === "SELECT" ? field.options[field.selectedIndex].textContent : field.value;
  }
  function apply(event) {
    const preset = presets[kind.value];
    const ownSmtp = Boolean(preset) && smtpCustom.checked;
    IMAP.forEach(function (name) {
      if (preset) form.elements[name].value = preset[name];
      lock(name, Boolean(preset));
    });
    SMTP.forEach(function (name) {
      if (preset && !ownSmtp) form.elements[name].value = preset[name];
      lock(name, Boolean(preset) && !ownSmtp);
    });
    smtpCustom.closest("p").hidden = !preset;
    notice.hidden = !(preset && preset.notice);
    notice.textContent = preset ? preset.notice : "";
    summary.hidden = !preset;
    summary.textContent = preset ? "IMAP " + label("imap_host") + ":" + label("imap_port") + " (" + label("imap_security") +
      ") · SMTP " + label("smtp_host") + ":" + label("smtp_port") + " (" + label("smtp_security") + ")" : "";
    // Picking a type closes the servers for a preset (they come with it) and opens them for Custom.
    if (!preset) advanced.open = true;
    else if (event && event.target === kind) advanced.open = false;
  }
  form.addEventListener("mousedown", function (event) {
    if (event.target.classList && event.target.classList.contains("locked")) event.preventDefault();
  });
  form.addEventListener("keydown", function (event) {
    if (event.target.classList && event.target.classList.contains("locked") && event.key !== "Tab") event.preventDefault();
  });
  // OAuth2: the Connect buttons of the providers this account type offers replace the password.
  const oauthNode = document.getElementById("oauth-kinds");
  const oauthKinds = oauthNode ? JSON.parse(oauthNode.textContent) : {};
  const connect = document.getElementById("oauth-connect");
  const authMethod = form.elements["auth_method"];
  function applyAuth() {
    const offered = oauthKinds[kind.value] || [];
    const oauthOption = Array.prototype.find.call(authMethod.options, function (o) { return o.value === "oauth2"; });
    if (oauthOption) oauthOption.hidden = offered.length === 0;
    if (offered.length === 0 && authMethod.value === "oauth2") authMethod.value = "password";
    const oauth = authMethod.value === "oauth2";
    form.elements["password"].closest("p").hidden = oauth;
    if (!connect) return;
    connect.hidden = !oauth;
    connect.querySelectorAll(".oauth-button").forEach(function (button) {
      button.hidden = offered.indexOf(button.dataset.provider) < 0;
    });
  }
  kind.addEventListener("change", apply);
  kind.addEventListener("change", applyAuth);
  authMethod.addEventListener("change", applyAuth);
  smtpCustom.addEventListener("change", apply);
  apply();
  applyAuth();
})();
