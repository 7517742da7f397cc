// Fill the server fields when the user picks a preset, and show the provider's notice.
(function () {
  const form = document.getElementById("account-form");
  const dataNode = document.getElementById("preset-data");
  if (!form || !dataNode) return;
  const presets = JSON.parse(dataNode.textContent);
  const kind = form.elements["kind"];
  const notice = document.getElementById("preset-notice");
  function apply() {
    const preset = presets[kind.value];
    const custom = !preset;
    ["imap_host", "imap_port", "imap_security"].forEach(function (name) {
      const field = form.elements[name];
      if (preset) field.value = preset[name];
      field.readOnly = !custom && !kind.value.startsWith("company:") ? true : false;
    });
    if (preset && !form.elements["smtp_custom"].checked) {
      ["smtp_host", "smtp_port", "smtp_security"].forEach(function (name) { form.elements[name].value = preset[name]; });
    }
    notice.hidden = !(preset && preset.notice);
    notice.textContent = preset ? preset.notice : "";
  }
  kind.addEventListener("change", apply);
  apply();
})();
