//! Serde helpers for fields that are optional-or-null, and for required-but-nullable ones.

use serde::{Deserialize, Deserializer};

/// Deserializes `null` as the type's default (absent fields use `#[serde(default)]`).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Deserializes a field that must be present but may be `null`. (With a `deserialize_with`
/// and no `default`, serde reports a missing field instead of taking `None`.)
pub(crate) fn required_nullable<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer)
}
