//! What `ErrorCode` adds to the generated list: retry classes, comparison, serde.

use core::fmt;
use core::hash::{Hash, Hasher};

use crate::ErrorCode;
use crate::retry_class::RetryClass;

impl ErrorCode {
    /// The retry class: the code's own if known, else that of its category
    /// (`InternalError.New` is `Transient` like `InternalError`), else `Client`.
    pub fn retry_class(&self) -> RetryClass {
        let code = self.as_str();
        let category = code.split('.').next().unwrap_or(code);
        self.known_class()
            .or_else(|| ErrorCode::parse(category).known_class())
            .unwrap_or(RetryClass::Client)
    }

    /// Whether this is a code this version knows.
    pub fn is_known(&self) -> bool {
        self.known_class().is_some()
    }
}

impl PartialEq for ErrorCode {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for ErrorCode {}

impl Hash for ErrorCode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for ErrorCode {
    fn from(code: &str) -> Self {
        ErrorCode::parse(code)
    }
}

impl core::str::FromStr for ErrorCode {
    type Err = core::convert::Infallible;
    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Ok(ErrorCode::parse(code))
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::macros::deserialize_from_str(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_of_known_and_unknown_codes() {
        assert_eq!(
            ErrorCode::AuthFailureSignatureExpire.retry_class(),
            RetryClass::Clock
        );
        assert_eq!(
            ErrorCode::InternalErrorComponentError.retry_class(),
            RetryClass::Transient
        );
        assert_eq!(
            ErrorCode::RequestLimitExceededIPLimitExceeded.retry_class(),
            RetryClass::Throttled
        );
        assert_eq!(
            ErrorCode::InvalidSnapshotIdNotFound.retry_class(),
            RetryClass::Client
        );
        assert_eq!(
            ErrorCode::parse("RequestLimitExceeded.Brand.New").retry_class(),
            RetryClass::Throttled
        );
        assert_eq!(
            ErrorCode::parse("Totally.Unknown").retry_class(),
            RetryClass::Client
        );
        assert_eq!(
            ErrorCode::parse("InternalError.Brand.New").retry_class(),
            RetryClass::Transient
        );
    }

    #[test]
    fn every_known_code_round_trips() {
        for code in ErrorCode::KNOWN {
            assert_eq!(&ErrorCode::parse(code.as_str()), code);
            assert!(code.is_known());
        }
        assert!(!ErrorCode::parse("X.Y").is_known());
        assert!(matches!(ErrorCode::parse("X.Y"), ErrorCode::Unknown(v) if v.as_str() == "X.Y"));
    }
}
