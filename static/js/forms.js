// Small progressive enhancements for forms; every form works without this file.
(function () {
  "use strict";

  // Show the parts of the invitation form that matter for the chosen role.
  const role = document.querySelectorAll('input[name="role"]');
  const parts = document.querySelectorAll("[data-shown-for-role]");
  function showForRole() {
    const chosen = document.querySelector('input[name="role"]:checked');
    parts.forEach((part) => {
      part.hidden = chosen !== null && part.dataset.shownForRole !== chosen.value;
    });
  }
  if (role.length && parts.length) {
    role.forEach((input) => input.addEventListener("change", showForRole));
    showForRole();
  }

  // "Print them" on the recovery codes page.
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  });
})();
