"use strict";
(function () {
  // Verifying needs a click: a mail scanner that opens the link (and even
  // one that runs scripts) spends nothing.
  var token = new URLSearchParams(window.location.search).get("token") || "";
  var form = document.getElementById("form");
  var button = document.getElementById("submit");
  var status = document.getElementById("status");
  if (!token) {
    form.hidden = true;
    status.textContent = "This link has no token. Ask for a new verification email.";
    return;
  }
  window.history.replaceState(null, "", window.location.pathname);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    fetch("email/verify", {
      method: "POST",
      credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: token })
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      form.hidden = result.ok || result.body.code === "invalid_token";
      button.disabled = false;
      status.textContent = result.ok ? "Your email address is verified." :
        (result.body.error || "Something went wrong.");
    }).catch(function () {
      status.textContent = "The service could not be reached. Try again.";
      button.disabled = false;
    });
  });
})();
