"use strict";
(function () {
  // The service's own page for passkeys: WebAuthn binds a passkey to this
  // origin, so the browser offers it here and nowhere else. Binary fields
  // travel as base64url; the browser's API wants ArrayBuffers.
  var status = document.getElementById("status");
  var signedOut = document.getElementById("signed-out");
  var signedIn = document.getElementById("signed-in");
  var list = document.getElementById("passkeys");
  var none = document.getElementById("no-passkeys");
  // With TOTP on, removing a passkey needs a code (X-MFA-Code).
  var mfaOn = false;

  function say(text) { status.textContent = text; }

  function toBuffer(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) { base64 += "="; }
    var binary = atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) { bytes[i] = binary.charCodeAt(i); }
    return bytes.buffer;
  }

  function toText(buffer) {
    if (!buffer) { return null; }
    var bytes = new Uint8Array(buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function api(method, path, body, headers) {
    var init = { method: method, credentials: "same-origin", headers: headers || {} };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (response) {
      return response.json().then(function (json) {
        if (!response.ok) { throw new Error(json.error || ("HTTP " + response.status)); }
        return json;
      });
    });
  }

  function failed(error) { say(error.message || String(error)); }

  function show() {
    return api("GET", "me").then(function (me) {
      document.getElementById("who").textContent = me.username;
      mfaOn = Boolean(me.mfa && me.mfa.totp);
      signedOut.hidden = true;
      signedIn.hidden = false;
      return refresh();
    }, function () {
      signedOut.hidden = false;
      signedIn.hidden = true;
    });
  }

  function refresh() {
    return api("GET", "webauthn/credentials").then(function (body) {
      list.textContent = "";
      none.hidden = body.credentials.length > 0;
      body.credentials.forEach(function (credential) {
        var item = document.createElement("li");
        item.dataset.id = credential.id;
        var label = document.createElement("span");
        label.className = "passkey-name";
        label.textContent = credential.name + (credential.last_used_at ?
          " (last used " + credential.last_used_at + ")" : " (never used)");
        var remove = document.createElement("button");
        remove.type = "button";
        remove.className = "remove";
        remove.textContent = "Remove";
        remove.addEventListener("click", function () { removePasskey(credential.id); });
        item.appendChild(label);
        item.appendChild(remove);
        list.appendChild(item);
      });
    });
  }

  function removePasskey(id) {
    var headers = {};
    if (mfaOn) {
      var code = window.prompt("Your authenticator app's code (or a recovery code):");
      if (!code) { return; }
      headers["X-MFA-Code"] = code;
    }
    api("DELETE", "webauthn/credentials/" + encodeURIComponent(id), undefined, headers)
      .then(function () { say("Passkey removed."); return refresh(); })
      .catch(failed);
  }

  function passwordBody() {
    return {
      username: document.getElementById("username").value,
      password: document.getElementById("password").value
    };
  }

  document.getElementById("password-form").addEventListener("submit", function (event) {
    event.preventDefault();
    api("POST", "login", passwordBody())
      .then(function () { say("Logged in."); return show(); })
      .catch(failed);
  });

  document.getElementById("signup").addEventListener("click", function () {
    var body = passwordBody();
    api("POST", "register", body)
      .then(function () { return api("POST", "login", body); })
      .then(function () { say("Account created; logged in."); return show(); })
      .catch(failed);
  });

  document.getElementById("add-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var name = document.getElementById("passkey-name").value;
    var challengeId;
    api("POST", "webauthn/register/options", { name: name }).then(function (options) {
      challengeId = options.challenge_id;
      var publicKey = options.publicKey;
      publicKey.challenge = toBuffer(publicKey.challenge);
      publicKey.user.id = toBuffer(publicKey.user.id);
      (publicKey.excludeCredentials || []).forEach(function (c) { c.id = toBuffer(c.id); });
      return navigator.credentials.create({ publicKey: publicKey });
    }).then(function (credential) {
      return api("POST", "webauthn/register", {
        challenge_id: challengeId,
        credential: {
          id: credential.id,
          rawId: toText(credential.rawId),
          type: credential.type,
          response: {
            clientDataJSON: toText(credential.response.clientDataJSON),
            attestationObject: toText(credential.response.attestationObject)
          },
          extensions: credential.getClientExtensionResults()
        }
      });
    }).then(function (added) {
      say("Passkey \u201c" + added.name + "\u201d registered.");
      return refresh();
    }).catch(failed);
  });

  document.getElementById("passkey-login").addEventListener("click", function () {
    var challengeId;
    api("POST", "webauthn/login/options", {}).then(function (options) {
      challengeId = options.challenge_id;
      var publicKey = options.publicKey;
      publicKey.challenge = toBuffer(publicKey.challenge);
      (publicKey.allowCredentials || []).forEach(function (c) { c.id = toBuffer(c.id); });
      return navigator.credentials.get({ publicKey: publicKey });
    }).then(function (credential) {
      return api("POST", "webauthn/login", {
        challenge_id: challengeId,
        credential: {
          id: credential.id,
          rawId: toText(credential.rawId),
          type: credential.type,
          response: {
            clientDataJSON: toText(credential.response.clientDataJSON),
            authenticatorData: toText(credential.response.authenticatorData),
            signature: toText(credential.response.signature),
            userHandle: toText(credential.response.userHandle)
          },
          extensions: credential.getClientExtensionResults()
        }
      });
    }).then(function () { say("Logged in with a passkey."); return show(); })
      .catch(failed);
  });

  document.getElementById("logout").addEventListener("click", function () {
    api("POST", "logout").then(function () { say("Logged out."); return show(); }).catch(failed);
  });

  if (!window.PublicKeyCredential) { say("This browser does not support passkeys."); }
  show();
})();
