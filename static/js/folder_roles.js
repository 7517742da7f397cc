// A folder plays one role: picking a folder another role holds takes it from that role. Say so
// before saving (the other row goes to "(none)" and explains why), rather than silently on save.
(function () {
  const template = document.getElementById("role-conflict-text");
  if (!template) return;
  const text = template.content ? template.content.textContent : template.textContent;
  document.querySelectorAll("form.roles").forEach(function (form) {
    const selects = Array.from(form.querySelectorAll("select"));
    function note(select, message) {
      const hint = select.parentElement.querySelector(".role-conflict");
      hint.textContent = message;
      hint.hidden = !message;
    }
    selects.forEach(function (select) {
      select.addEventListener("change", function () {
        note(select, "");
        if (!select.value) return;
        selects.forEach(function (other) {
          if (other === select || other.value !== select.value) return;
          const folder = select.options[select.selectedIndex].textContent;
          const role = form.querySelector('label[for="' + other.id + '"]').textContent;
          other.value = "";
          note(other, text.replace("{folder}", folder).replace("{role}", role));
        });
      });
    });
  });
})();
