//! A transport failure that ends many calls at once.

use std::fmt;
use std::io;
use std::sync::Arc;

/// One transport failure handed to every call it ends: `io::Error` is not
/// `Clone`, so each call gets an `io::Error` of the same kind wrapping this,
/// which shows the original's message and continues its chain.
#[derive(Debug)]
pub(crate) struct SharedIoError(Arc<io::Error>);

impl SharedIoError {
    /// Keeps `error` for every call that asks for it.
    pub(crate) fn new(error: io::Error) -> Self {
        SharedIoError(Arc::new(error))
    }

    /// A copy of the failure for one caller.
    pub(crate) fn to_io_error(&self) -> io::Error {
        io::Error::new(self.0.kind(), SharedIoError(Arc::clone(&self.0)))
    }
}

impl Clone for SharedIoError {
    fn clone(&self) -> Self {
        SharedIoError(Arc::clone(&self.0))
    }
}

impl fmt::Display for SharedIoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&*self.0, f)
    }
}

impl std::error::Error for SharedIoError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}
