//! API callers: bearer tokens, known only by their SHA-256 digests (`spec/node.md`, "Who is calling").
//!
//! The tokens file (`[node] tokens`, TOML) maps each token's SHA-256 hex digest to an actor and its scopes:
//!
//! ```toml
//! [tokens."9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]
//! actor = "tenant-acme:deployer"
//! scopes = ["acme"]
//! ```
//!
//! The file never holds a token in clear. A lookup hashes the presented token and compares it with every
//! digest in constant time (no early exit, so timing tells nothing about how much of a digest matched).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use corral_policy::Actor;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Who a valid token belongs to: the Cedar principal of every decision its requests cause.
#[derive(Clone, Debug)]
pub struct ApiIdentity {
    /// The actor, e.g. `tenant-acme:deployer`.
    pub actor: Arc<Actor>,
    /// The scope names that select the node policies' `@scope`.
    pub scopes: Arc<[String]>,
}

impl ApiIdentity {
    /// The caller as the node's gate decides it.
    pub fn caller(&self) -> corral_core::gate::ApiCaller {
        corral_core::gate::ApiCaller { actor: self.actor.clone(), scopes: self.scopes.clone() }
    }
}

/// The known tokens, by digest.
#[derive(Clone, Debug, Default)]
pub struct Tokens {
    known: Vec<([u8; 32], ApiIdentity)>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    tokens: BTreeMap<String, RawToken>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawToken {
    actor: String,
    #[serde(default)]
    scopes: Vec<String>,
}

impl Tokens {
    /// Reads a tokens file. Errors: unreadable, not TOML of the shape above, a key that is not 64 hex digits
    /// or an empty actor; the message names the file and the key.
    pub fn load(path: &Path) -> Result<Tokens, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read tokens file `{}`: {e}", path.display()))?;
        Tokens::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Parses the text of a tokens file. Errors: as for [`Tokens::load`], without the file name.
    pub fn parse(text: &str) -> Result<Tokens, String> {
        let raw: RawFile = toml::from_str(text).map_err(|e| format!("invalid tokens file: {}", e.message()))?;
        let mut known = Vec::with_capacity(raw.tokens.len());
        for (digest, token) in raw.tokens {
            let mut bytes = [0u8; 32];
            hex::decode_to_slice(&digest, &mut bytes)
                .map_err(|_| format!("token key `{digest}` is not a SHA-256 digest (64 hex digits)"))?;
            if token.actor.trim().is_empty() {
                return Err(format!("token `{digest}`: `actor` must name an actor"));
            }
            known.push((bytes, ApiIdentity { actor: Arc::new(Actor::new(token.actor)), scopes: token.scopes.into() }));
        }
        Ok(Tokens { known })
    }

    /// The identity of `token`, if its digest is known. Every digest is compared, in constant time each.
    pub fn identify(&self, token: &str) -> Option<ApiIdentity> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let mut found = None;
        for (known, identity) in &self.known {
            if bool::from(known.ct_eq(&digest)) {
                found = Some(identity.clone());
            }
        }
        found
    }

    /// How many tokens are known.
    pub fn len(&self) -> usize {
        self.known.len()
    }
}

/// The SHA-256 hex digest of `token`, as the tokens file keys it.
#[cfg(test)]
pub fn digest_hex(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests_identify_and_others_do_not() {
        let text =
            format!("[tokens.\"{}\"]\nactor = \"tenant-acme:deployer\"\nscopes = [\"acme\"]\n", digest_hex("s3cret"));
        let tokens = Tokens::parse(&text).unwrap();
        let who = tokens.identify("s3cret").unwrap();
        assert_eq!(who.actor.id, "tenant-acme:deployer");
        assert_eq!(&*who.scopes, ["acme".to_string()]);
        assert!(tokens.identify("s3cret ").is_none());
        assert!(tokens.identify(&digest_hex("s3cret")).is_none(), "the digest itself is not a token");
    }

    #[test]
    fn a_clear_token_as_key_is_refused() {
        let err = Tokens::parse("[tokens.\"s3cret\"]\nactor = \"a\"\n").unwrap_err();
        assert!(err.contains("`s3cret`"), "{err}");
    }
}
