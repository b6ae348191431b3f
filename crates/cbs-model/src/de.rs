//! Deserialization helpers the generated code refers to, for types written by hand
//! beside them too.

use serde::{Deserialize, Deserializer};

/// Reads `null` (or an absent member, with `#[serde(default)]`) as the type's default.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
