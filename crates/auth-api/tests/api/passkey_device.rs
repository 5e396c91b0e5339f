//! A device for the passkey tests: webauthn-authenticator-rs's SoftPasskey
//! (real P-256 keys and signatures) and the browser around it, which builds
//! the client data for the origin it is told it is on.
//!
//! SoftPasskey keeps no resident credentials, so this browser plays the
//! part a passkey provider plays for a discoverable login: for options
//! without `allowCredentials` it names the credential it holds, and it
//! returns the user handle it saw at registration. The server's checks
//! (challenge, origin, signature, user verification, counter) all run.

use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator as _;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

/// A device with one authenticator, and the browser that talks to it.
pub struct Device {
    key: SoftPasskey,
    /// What a resident credential would remember: its id and user handle.
    pub credential_id: Option<String>,
    user_handle: Option<String>,
}

impl Device {
    pub fn new() -> Self {
        Self {
            // `true`: it reports user verification (a PIN or a finger).
            key: SoftPasskey::new(true),
            credential_id: None,
            user_handle: None,
        }
    }

    /// `navigator.credentials.create()` at `origin` for the options' `publicKey`.
    pub fn create(&mut self, public_key: &Value, origin: &str) -> Value {
        let mut options: CreationChallengeResponse =
            serde_json::from_value(json!({ "publicKey": public_key })).unwrap();
        // SoftPasskey refuses resident keys; the test browser remembers
        // the credential instead (see the module docs).
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.require_resident_key = false;
        }
        let credential = self
            .key
            .do_registration(Url::parse(origin).unwrap(), options)
            .unwrap();
        let credential = serde_json::to_value(credential).unwrap();
        self.credential_id = credential["rawId"].as_str().map(str::to_owned);
        self.user_handle = public_key["user"]["id"].as_str().map(str::to_owned);
        credential
    }

    /// `navigator.credentials.get()` at `origin` for the options' `publicKey`.
    pub fn get(&mut self, public_key: &Value, origin: &str) -> Value {
        let mut public_key = public_key.clone();
        let discoverable = public_key["allowCredentials"]
            .as_array()
            .is_none_or(Vec::is_empty);
        if discoverable {
            public_key["allowCredentials"] =
                json!([{"type": "public-key", "id": self.credential_id}]);
        }
        let options: RequestChallengeResponse =
            serde_json::from_value(json!({ "publicKey": public_key })).unwrap();
        let credential = self
            .key
            .do_authentication(Url::parse(origin).unwrap(), options)
            .unwrap();
        let mut credential = serde_json::to_value(credential).unwrap();
        if discoverable {
            credential["response"]["userHandle"] = json!(self.user_handle);
        }
        credential
    }
}
