//! Errors of the cold paths (`Error`) and of the hot path (`WriteError`).
use std::ffi::CStr;
use std::fmt;
use std::os::raw::c_int;

use rondo_sys as sys;

/// What went wrong, as the C API's `enum rondo_status` says.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    InvalidArgument,
    NotFound,
    NotAStore,
    Corrupt,
    SchemaMismatch,
    SchemaFull,
    NoMatchingSchema,
    Busy,
    Io,
    BufferTooSmall,
    OutOfMemory,
    Internal,
    /// A status this crate does not know (a newer library).
    Other(i32),
}

impl ErrorCode {
    fn from_status(status: c_int) -> ErrorCode {
        match status {
            sys::RONDO_ERR_INVALID_ARGUMENT => ErrorCode::InvalidArgument,
            sys::RONDO_ERR_NOT_FOUND => ErrorCode::NotFound,
            sys::RONDO_ERR_NOT_A_STORE => ErrorCode::NotAStore,
            sys::RONDO_ERR_CORRUPT => ErrorCode::Corrupt,
            sys::RONDO_ERR_SCHEMA_MISMATCH => ErrorCode::SchemaMismatch,
            sys::RONDO_ERR_SCHEMA_FULL => ErrorCode::SchemaFull,
            sys::RONDO_ERR_NO_MATCHING_SCHEMA => ErrorCode::NoMatchingSchema,
            sys::RONDO_ERR_BUSY => ErrorCode::Busy,
            sys::RONDO_ERR_IO => ErrorCode::Io,
            sys::RONDO_ERR_BUFFER_TOO_SMALL => ErrorCode::BufferTooSmall,
            sys::RONDO_ERR_OUT_OF_MEMORY => ErrorCode::OutOfMemory,
            sys::RONDO_ERR_INTERNAL => ErrorCode::Internal,
            other => ErrorCode::Other(other),
        }
    }
}

/// A failed cold-path call: the code and the library's message (which names
/// the file, series or schema at fault).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    message: String,
}

impl Error {
    pub fn code(&self) -> ErrorCode {
        self.code
    }
    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error { code, message: message.into() }
    }

    /// The error of a status the C API just returned on this thread.
    pub(crate) fn last(status: c_int) -> Error {
        // SAFETY: rondo_error_message returns a NUL-terminated thread-local buffer.
        let message = unsafe { CStr::from_ptr(sys::rondo_error_message()) };
        Error::new(ErrorCode::from_status(status), message.to_string_lossy().into_owned())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rondo: {:?}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// Turns a cold-path status into a Result.
pub(crate) fn check(status: c_int) -> Result<()> {
    if status == sys::RONDO_OK {
        Ok(())
    } else {
        Err(Error::last(status))
    }
}

/// Why `record()` stored nothing (the C API's `enum rondo_write_status`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum WriteError {
    /// Older than everything tier 0 still holds.
    TooOld,
    /// The series was not issued by this store.
    InvalidHandle,
    /// NaN means "no data": nothing is stored for it.
    NotANumber,
}

impl WriteError {
    #[inline]
    pub(crate) fn check(status: c_int) -> std::result::Result<(), WriteError> {
        match status {
            sys::RONDO_WRITE_OK => Ok(()),
            sys::RONDO_WRITE_TOO_OLD => Err(WriteError::TooOld),
            sys::RONDO_WRITE_NOT_A_NUMBER => Err(WriteError::NotANumber),
            _ => Err(WriteError::InvalidHandle),
        }
    }
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            WriteError::TooOld => "too old",
            WriteError::InvalidHandle => "invalid handle",
            WriteError::NotANumber => "not a number",
        };
        f.write_str(text)
    }
}

impl std::error::Error for WriteError {}
