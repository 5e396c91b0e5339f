"use strict";
(function () {
  // The token stays in this page: it is posted only when the user submits,
  // so a mail scanner that opens the link spends nothing.
  var token = new URLSearchParams(window.location.search).get("token") || "";
  var form = document.getElementById("form");
  var button = document.getElementById("submit");
  var status = document.getElementById("status");
  if (!token) {
    form.hidden = true;
    status.textContent = "This link has no token. Ask for a new reset link.";
    return;
  }
  window.history.replaceState(null, "", window.location.pathname);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    status.textContent = "Setting your new password…";
    fetch("password/reset", {
      method: "POST",
      credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: token, new_password: document.getElementById("password").value })
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, body: body }; });
    }).then(function (result) {
      if (result.ok) {
        form.hidden = true;
        status.textContent = "Your password was reset and every session was signed out (" +
          result.body.sessions_revoked + "). You can log in with the new password now.";
        return;
      }
      status.textContent = result.body.error || "Something went wrong.";
      if (result.body.code === "invalid_token") {
        form.hidden = true;
      } else {
        button.disabled = false;
      }
    }).catch(function () {
      status.textContent = "The service could not be reached. Try again.";
      button.disabled = false;
    });
  });
})();
