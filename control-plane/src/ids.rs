//! Generated identifiers and the clock used for timestamps.

const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A random lowercase id of `len` characters, like AWS's `a1b2c3d4e5`.
/// Ids name things; they are not secrets, so a fast generator is enough.
pub fn generate(len: usize) -> String {
    (0..len)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

/// A random id of `len` characters for which `taken` says no, e.g. one no
/// record in the store has yet.
pub fn unused<E>(len: usize, mut taken: impl FnMut(&str) -> Result<bool, E>) -> Result<String, E> {
    loop {
        let id = generate(len);
        if !taken(&id)? {
            return Ok(id);
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
