//! The macOS login keychain: the generic password Claude Code keeps its credentials JSON in.
//!
//! Only the lookup lives here; naming the item (`keychain_service`, `keychain_account`) is pure
//! and lives in `mod.rs` so every platform tests it. Read-only: nothing here adds, updates or
//! deletes an item.

use super::{KeychainRead, SecretBytes};

/// `errSecItemNotFound`: no such item, which is simply "not logged in here".
const ERR_SEC_ITEM_NOT_FOUND: i32 = -25300;

pub(super) fn read(service: &str, account: &str) -> KeychainRead {
    match security_framework::passwords::get_generic_password(service, account) {
        Ok(bytes) => KeychainRead::Found(SecretBytes(bytes)),
        Err(e) if e.code() == ERR_SEC_ITEM_NOT_FOUND => KeychainRead::NotFound,
        // User refused the prompt, locked keychain, no GUI session, ACL says no: all mean we
        // may not read it, and the status code is what a user can look up.
        Err(e) => KeychainRead::Denied(e.code()),
    }
}
