//! The macros the generated code expands, and the value type open enums keep.

use core::fmt;
use core::marker::PhantomData;

/// A string value that this version of the SDK does not know, kept exactly as received.
///
/// Only parsing makes one, so an `Unknown` variant never holds a value that has a
/// variant of its own.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UnknownValue(String);

impl UnknownValue {
    pub(crate) fn new(value: &str) -> Self {
        UnknownValue(value.to_owned())
    }

    /// The value as received.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Deserializes a string into anything made from `&str`, without allocating for values
/// the type knows.
pub(crate) fn deserialize_from_str<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: for<'a> From<&'a str>,
{
    struct Visit<T>(PhantomData<T>);
    impl<T: for<'a> From<&'a str>> serde::de::Visitor<'_> for Visit<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string")
        }
        fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<T, E> {
            Ok(T::from(value))
        }
    }
    deserializer.deserialize_str(Visit(PhantomData))
}

/// Defines an open enum: unit variants with their wire strings, plus `Unknown`.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $wire:literal, )* }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this version of the SDK does not know, kept as received.
            Unknown($crate::UnknownValue),
        }

        impl $name {
            /// The values this version knows, in the model's order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),*];

            /// The value as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )*
                    $name::Unknown(value) => value.as_str(),
                }
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $( $wire => $name::$variant, )*
                    other => $name::Unknown($crate::UnknownValue::new(other)),
                }
            }
        }

        impl core::str::FromStr for $name {
            type Err = core::convert::Infallible;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Ok(Self::from(value))
            }
        }

        impl core::fmt::Display for $name {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                $crate::macros::deserialize_from_str(deserializer)
            }
        }
    };
}

/// Defines `ErrorCode` from `(wire code, retry class)` pairs.
macro_rules! error_codes {
    ($( $(#[$vmeta:meta])* $variant:ident = ($wire:literal, $class:ident), )*) => {
        /// An API error code: every code of the CBS API and of the platform, or `Unknown`
        /// for a code this version does not know, kept as received (like every open
        /// enum). Codes compare by their text.
        ///
        /// ```
        /// use cbs_model::{ErrorCode, RetryClass};
        /// let code = ErrorCode::parse("RequestLimitExceeded");
        /// assert_eq!(code, ErrorCode::RequestLimitExceeded);
        /// assert_eq!(code.retry_class(), RetryClass::Throttled);
        /// // A new code keeps its text and takes its category's class.
        /// let new = ErrorCode::parse("InternalError.SomethingNew");
        /// assert_eq!(new.as_str(), "InternalError.SomethingNew");
        /// assert_eq!(new.retry_class(), RetryClass::Transient);
        /// ```
        #[derive(Clone, Debug)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $( $(#[$vmeta])* $variant, )*
            /// A code this version of the SDK does not know, as received.
            Unknown($crate::UnknownValue),
        }

        impl ErrorCode {
            /// Every code this version knows, sorted by text.
            pub const KNOWN: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The code as the service sends it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( ErrorCode::$variant => $wire, )*
                    ErrorCode::Unknown(code) => code.as_str(),
                }
            }

            /// The code for `code`: a known variant, or `Unknown` keeping the text.
            pub fn parse(code: &str) -> Self {
                match code {
                    $( $wire => ErrorCode::$variant, )*
                    other => ErrorCode::Unknown($crate::UnknownValue::new(other)),
                }
            }

            pub(crate) fn known_class(&self) -> Option<$crate::retry_class::RetryClass> {
                match self {
                    $( ErrorCode::$variant => Some($crate::retry_class::RetryClass::$class), )*
                    ErrorCode::Unknown(_) => None,
                }
            }
        }
    };
}

pub(crate) use {error_codes, open_enum};
